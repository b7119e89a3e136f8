#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test: Rust unit and HTTP integration
# tests (with real redis-server processes) and the Playwright browser tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
. scripts/leftovers.sh
. scripts/leptos-env.sh
# Every process this run starts carries the tag; none may outlive the run.
mark_run
redis_dir=""
# Steps that run beside others, each in its own process group (so a stop takes everything it
# started: cargo-leptos, cargo, rustc; a server and its fuzzer) with its output in a file.
declare -A bg_pid bg_log
bg_start() { # NAME COMMAND...
  bg_log[$1]=$(mktemp)
  setsid "${@:2}" >"${bg_log[$1]}" 2>&1 &
  bg_pid[$1]=$!
}
bg_wait() { # NAME [LINES]: its output (the last LINES), and its failure as the run's
  local status=0
  wait "${bg_pid[$1]}" || status=$?
  unset "bg_pid[$1]"
  if [ -n "${2:-}" ] && [ "$status" -eq 0 ]; then tail -n "$2" "${bg_log[$1]}"; else cat "${bg_log[$1]}"; fi
  rm -f "${bg_log[$1]}"
  return "$status"
}
finish() {
  local status=$? name
  for name in "${!bg_pid[@]}"; do
    kill -- -"${bg_pid[$name]}" 2>/dev/null || true
    wait "${bg_pid[$name]}" 2>/dev/null || true
    rm -f "${bg_log[$name]}"
  done
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

# The wasm (split by page, hashed names, as released) builds beside the server, its tests and
# the API fuzzer, none of which needs it; with hashed names cargo-leptos would build it and the
# server one after the other.
log "构建服务端（wasm 在后台构建：cargo leptos build --split --frontend-only）"
# At a lower priority: the server and its tests are on the critical path, the wasm is not
# needed until the browser tests.
bg_start wasm nice -n 10 cargo leptos build --split --frontend-only
cargo leptos build --server-only

log "API 模糊测试在后台开始（schemathesis，按 OpenAPI 文档，约 90 秒）"
bg_start fuzz timeout 10m bash scripts/fuzz-api.sh

log "Rust 单元测试与 HTTP 集成测试"
# The server side's tests, with the settings `cargo leptos build` compiled the server with (so
# nothing is compiled twice). `cargo leptos test` would also run the library's tests a second
# time built for the browser side on this machine: the same tests, and a third build of the
# framework. Bounded: a hung test must fail the run, not stall it.
with_leptos_env debug timeout 20m cargo test --no-default-features --features ssr

log "API 模糊测试结果"
bg_wait fuzz

log "wasm 构建结果"
bg_wait wasm 3
# What `--precompress` does for a release build: every test page load would otherwise compress
# the debug build's multi-megabyte wasm again.
gzip -k -f -6 target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css

log "基准测试脚本冒烟运行（bench/run.sh --smoke，几秒钟）"
timeout 5m bash bench/run.sh --smoke

log "浏览器测试（Playwright + Chromium）：内存缓存与 Redis 缓存两遍同时进行"
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
# Each round has its own ports (the app, the failing app, the fake model API) and directories.
bg_start e2e_redis env -C end2end E2E_PORT=3207 E2E_REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  npx playwright test
e2e_memory=0
(cd end2end && E2E_PORT=3107 npx playwright test) || e2e_memory=$?
log "浏览器测试（Redis 缓存）结果"
bg_wait e2e_redis
[ "$e2e_memory" -eq 0 ] || { echo "浏览器测试（内存缓存）失败" >&2; exit 1; }

log "全部测试通过"
