#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test: Rust unit and HTTP integration
# tests (with real redis-server processes) and the Playwright browser tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
. scripts/leftovers.sh
# Every process this run starts carries the tag; none may outlive the run.
mark_run
redis_dir=""
front_pid=""
# A process and everything it started (the background wasm build: cargo-leptos, cargo, rustc).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
finish() {
  local status=$?
  if [ -n "$front_pid" ] && kill -0 "$front_pid" 2>/dev/null; then
    kill_tree "$front_pid"
    wait "$front_pid" 2>/dev/null || true
  fi
  if [ -n "$redis_dir" ]; then
    kill "$(cat "$redis_dir/redis.pid" 2>/dev/null)" 2>/dev/null || true
  fi
  check_leftovers || status=1
  [ -n "$redis_dir" ] && rm -rf "$redis_dir"
  exit "$status"
}
trap finish EXIT
ensure_rust
ensure_test_tools

log "检查代码格式与模块依赖（模块之间的 use 不成环）"
cargo fmt --check
python3 scripts/module_cycles.py

# The wasm (split by page, hashed names, as released) builds beside the server and the Rust
# tests, which do not need it: cargo-leptos would build the two one after the other.
log "构建 wasm（后台进行，cargo leptos build --split --frontend-only）与服务端"
front_log=$(mktemp)
cargo leptos build --split --frontend-only >"$front_log" 2>&1 &
front_pid=$!
cargo leptos build --server-only

log "Rust 单元测试与 HTTP 集成测试"
# Bounded: a hung test must fail the run, not stall it.
timeout 20m cargo leptos test

log "API 模糊测试（schemathesis，按 OpenAPI 文档，约 90 秒）"
timeout 10m bash scripts/fuzz-api.sh

log "等待 wasm 构建完成"
if ! wait "$front_pid"; then
  tail -40 "$front_log" >&2
  echo "wasm 构建失败" >&2
  exit 1
fi
rm -f "$front_log"

log "基准测试脚本冒烟运行（bench/run.sh --smoke，几秒钟）"
timeout 5m bash bench/run.sh --smoke

log "浏览器测试（Playwright + Chromium，内存缓存）"
(cd end2end && npx playwright test)

log "浏览器测试（Playwright + Chromium，Redis 缓存）"
redis_port=""
redis_dir=$(mktemp -d)
# A free port, a redis-server on it, and its answer; another port if it did not come up.
for p in $(shuf -i 20000-32000 -n 5); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" \
    --daemonize yes --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" >/dev/null || true
  for _ in $(seq 50); do
    if redis-cli -p "$p" ping 2>/dev/null | grep -q PONG; then redis_port=$p; break; fi
    sleep 0.1
  done
  [ -n "$redis_port" ] && break
  echo "redis-server 未能在端口 $p 上启动：" >&2; tail -5 "$redis_dir/redis.log" >&2 || true
done
[ -n "$redis_port" ] || { echo "无法启动 redis-server" >&2; exit 1; }
(cd end2end && E2E_REDIS_URL="redis://127.0.0.1:$redis_port/0" npx playwright test)

log "全部测试通过"
