#!/usr/bin/env bash
# Builds and runs Yueen on its embedded defaults: memory cache, mock AI, http://127.0.0.1:3000.
# Set REDIS_URL / OPENAI_API_KEY (or put them in .env) to use Redis and a real model.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
ensure_rust
log "构建并启动（首次构建约 3 分钟）"
exec cargo leptos serve --split
