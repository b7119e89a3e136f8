#!/usr/bin/env bash
# Builds and runs Yueen on its embedded defaults: memory cache, mock AI, http://127.0.0.1:3000.
# Set REDIS_URL / OPENAI_API_KEY (or put them in .env) to use Redis and a real model.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
. scripts/leptos-env.sh
ensure_rust
log "构建（首次构建约 3 分钟）"
cargo leptos build --split
log "启动"
# The server runs in this terminal itself (not under `cargo leptos serve`, which pipes its
# output): a made-up admin token is printed here only when its stdout is a terminal.
with_leptos_env debug target/debug/yueen
