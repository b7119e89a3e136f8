#!/usr/bin/env bash
# Fuzzes the JSON API against its own OpenAPI document with schemathesis (`--checks all`, admin
# token, ~90 s): the built app in memory mode with the mock AI, on a free loopback port. Every
# request the document allows must be accepted, every one it forbids rejected with a 4xx, and
# every answer must match the document. Called by test.sh; needs `cargo leptos build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

ensure_apt python3:python3

SCHEMATHESIS_VERSION=4.32.5
# A tool of this machine, like cargo-leptos: kept outside the checkout, installed once.
VENV=$(realpath -m "${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/yueen/schemathesis-$SCHEMATHESIS_VERSION}")
BIN=${FUZZ_SERVER_BIN:-target/debug/yueen}
TOKEN=fuzz-admin-token-0123
MAX_TIME=${FUZZ_MAX_TIME:-90}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  log "安装 schemathesis $SCHEMATHESIS_VERSION（Python 虚拟环境 $VENV）"
  rm -rf "$VENV"; mkdir -p "$(dirname "$VENV")"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 needs its venv package for ensurepip.
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

port=""
for p in $(shuf -i 20000-32000 -n 50); do  # below the ephemeral range
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
work=$(mktemp -d)
# The fuzzer sends wrong tokens on purpose (its auth checks); past the per-address allowance
# each would be held back a second, which would spend the fuzzer's time on waiting.
LOGIN_ATTEMPTS_PER_MINUTE=10000 SHUTDOWN_DRAIN_SECS=0 LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site LOG_DIR="$work/logs" DATA_DIR="$work/data" \
  ADMIN_TOKEN=$TOKEN USER_TOKENS= OPENAI_API_KEY= REDIS_URL= AI_MOCK_CHUNK_DELAY_MS=0 \
  RUST_LOG=warn "$BIN" >"$work/app.log" 2>&1 &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 0.1
done

# Run from the scratch directory: schemathesis keeps its state in the working directory.
st="$VENV/bin/schemathesis"
config="$PWD/scripts/schemathesis.toml"
(cd "$work" && "$st" --no-color --config-file "$config" run "http://127.0.0.1:$port/api/openapi.json" \
  --checks all -H "Authorization: Bearer $TOKEN" --max-time "$MAX_TIME")
