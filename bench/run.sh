#!/usr/bin/env bash
# Benchmarks Yueen against a bare axum baseline in one run, on loopback only.
#   bash bench/run.sh          full run: release build, 10 s per scenario, writes BENCHMARKS.md
#   bash bench/run.sh --smoke  a few seconds on the debug build, writes nothing (keeps the script alive)
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0; [ "${1:-}" = "--smoke" ] && SMOKE=1
. bench/lib.sh

command -v wrk >/dev/null || { sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo; $sudo_ apt-get install -y -qq wrk; }

if [ $SMOKE = 0 ]; then
  if ! command -v wasm-opt >/dev/null; then
    npm install --prefix target/tools --no-audit --no-fund binaryen@132 >/dev/null
    export PATH="$PWD/target/tools/node_modules/.bin:$PATH"
  fi
  cargo leptos build --release
  cargo build --release --no-default-features --features ssr --bin yueen-baseline
else
  # The test command has built both already (`cargo leptos build`, `cargo leptos test`).
  [ -x "$BIN" ] || cargo leptos build
  [ -x "$BASE_BIN" ] || cargo build --features ssr --bin yueen-baseline
fi

start_redis; REDIS_PORT=$RP; REDIS_PID=$RPID

declare -A R
# 1. Bare axum baseline.
BPORT=$(free_port)
BASELINE_ADDR="127.0.0.1:$BPORT" "$BASE_BIN" >"$WORK/baseline.log" 2>&1 & PIDS+=("$!")
wait_http "http://127.0.0.1:$BPORT/"
R[baseline]=$(load "http://127.0.0.1:$BPORT")

# 2. L1 (memory) hits.
start_app l1; wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
R[l1_hits]=$(load "http://127.0.0.1:$P")

# 2b. L1 hits with every per-user limit on (set far above the load, so nothing is refused):
# what admission and accounting cost on the hit path.
start_app limits LIMIT_REQUESTS_PER_MINUTE=1000000 LIMIT_CONCURRENT_GENERATIONS=10000 \
  LIMIT_TOKENS_PER_DAY=1000000000000
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
R[l1_limits]=$(load "http://127.0.0.1:$P")

# 3. Redis hits with L1 off.
start_app l2 REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" CACHE_L1_ENABLED=false
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
R[redis_hits]=$(load "http://127.0.0.1:$P")

# 4. Misses with the mock generator.
start_app miss
wait_http "http://127.0.0.1:$P/healthz"
R[misses]=$(load "http://127.0.0.1:$P" 1)

# 5. Redis hits (L1 off) while redis-server is killed mid-run.
start_app kill REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" CACHE_L1_ENABLED=false
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
# Killed half-way through the measured run (which follows a 2 s warm-up in full mode).
half=$([ $SMOKE = 1 ] && echo 0.5 || echo 7)
( sleep "$half"; kill "$REDIS_PID" ) &
R[redis_killed]=$(load "http://127.0.0.1:$P")

# 6. RSS after 10k and 100k distinct keys with the L1 bound at 10k entries.
KEYS_SMALL=10000; KEYS_BIG=100000
[ $SMOKE = 1 ] && { KEYS_SMALL=200; KEYS_BIG=2000; }
start_app rss CACHE_MEMORY_MAX_ENTRIES=10000
wait_http "http://127.0.0.1:$P/healthz"
fill() { # N: N distinct misses through wrk, bounded by count via a time budget check
  local target=$1
  while :; do
    local n; n=$(curl -s "http://127.0.0.1:$P/api/ai/cache/stats" -H "Authorization: Bearer $TOKEN" \
      | grep -o '"total_requests":[0-9]*' | cut -d: -f2)
    [ "$n" -ge "$target" ] && break
    UNIQUE=1 BENCH_TOKEN=$TOKEN wrk -t$THREADS -c$CONNS -d1s -s bench/post.lua "http://127.0.0.1:$P" >/dev/null
  done
}
fill $KEYS_SMALL; RSS_SMALL=$(rss_kb "$APID")
fill $KEYS_BIG; RSS_BIG=$(rss_kb "$APID")

# 7. Wasm bundle and server-rendered TTFB.
WASM=target/site/pkg/yueen.wasm
WASM_RAW=$(stat -c %s "$WASM"); WASM_GZ=$(gzip -9 -c "$WASM" | wc -c)
TTFB_MS=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://127.0.0.1:$P/login"; done \
  | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR/2)+1]*1000}')

base_rps=$(field "${R[baseline]}" rps)
report() {
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(field "$2" rps)" "$(field "$2" p50_ms)" \
    "$(field "$2" p99_ms)" "$(awk -v a="$(field "$2" rps)" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')" \
    "$(( $(field "$2" non2xx) + $(field "$2" socket_errors) ))"
}
TABLE=$( {
  echo "| scenario | req/s | p50 ms | p99 ms | × baseline | errors |"
  echo "|---|---|---|---|---|---|"
  report "bare axum baseline" "${R[baseline]}"
  report "L1 (memory) hits" "${R[l1_hits]}"
  report "L1 hits, per-user limits on" "${R[l1_limits]}"
  report "Redis hits, L1 off" "${R[redis_hits]}"
  report "misses, mock generator" "${R[misses]}"
  report "Redis hits, redis-server killed mid-run" "${R[redis_killed]}"
} )
SUMMARY="RSS: $((RSS_SMALL/1024)) MiB after $KEYS_SMALL keys, $((RSS_BIG/1024)) MiB after $KEYS_BIG keys (ratio $(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}')).
Wasm ($PROFILE): $((WASM_RAW/1024)) KiB raw, $((WASM_GZ/1024)) KiB gzip. Server-rendered /login TTFB median: $TTFB_MS ms."
echo "$TABLE"; echo "$SUMMARY"

# The targets of issue #6, checked against this run.
targets() {
  local l1 l2 p99 kill_err
  l1=$(awk -v a="$(field "${R[l1_hits]}" rps)" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')
  l2=$(awk -v a="$(field "${R[redis_hits]}" rps)" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')
  p99=$(field "${R[l1_hits]}" p99_ms)
  limits=$(awk -v a="$(field "${R[l1_limits]}" rps)" -v b="$(field "${R[l1_hits]}" rps)" 'BEGIN{printf "%.3f", a/b}')
  kill_err=$(( $(field "${R[redis_killed]}" non2xx) + $(field "${R[redis_killed]}" socket_errors) ))
  verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN{ok = (op == ">=") ? v >= t : v <= t; print (ok ? "met" : "missed")}'; }
  echo "| target | goal | measured | result |"
  echo "|---|---|---|---|"
  echo "| L1 hits vs baseline | ≥ 0.60× | ${l1}× | $(verdict "$l1" 0.6 '>=') |"
  echo "| L1 hits with limits on vs without (same run) | ≥ 0.95× | ${limits}× | $(verdict "$limits" 0.95 '>=') |"
  echo "| Redis hits (L1 off) vs baseline | ≥ 0.30× | ${l2}× | $(verdict "$l2" 0.3 '>=') |"
  echo "| L1-hit p99 | ≤ 2 ms | ${p99} ms | $(verdict "$p99" 2 '<=') |"
  echo "| errors while redis-server is killed | 0 | ${kill_err} | $(verdict "$kill_err" 0 '<=') |"
  echo "| RSS 100k keys / 10k keys | ≤ 1.5 | $(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}') | $(verdict "$(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}')" 1.5 '<=') |"
  echo "| release wasm, gzip | ≤ 250 KiB | $((WASM_GZ/1024)) KiB | $(verdict $((WASM_GZ/1024)) 250 '<=') |"
}
TARGETS=$(targets)
echo "$TARGETS"

# Capacity: Redis bytes and commands per section, nginx in front of one and two instances.
CAPACITY=$(bash bench/capacity.sh $([ $SMOKE = 1 ] && echo --smoke))
echo "$CAPACITY"

if [ $SMOKE = 0 ]; then
  {
    echo "# Benchmarks"; echo
    echo "Run: \`bash bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(grep 'model name' /proc/cpuinfo | head -1 | cut -d: -f2 | xargs),"
    echo "$(free -g | awk '/Mem:/{print $2}') GiB, wrk -t$THREADS -c$CONNS -d$DURATION on loopback, release build."
    echo "wrk shares the two cores with the server in every scenario, so the ratios compare like with like."; echo
    echo "$TABLE"; echo; echo "$SUMMARY"; echo
    echo "## Targets"; echo
    echo "$TARGETS"; echo
    echo "$CAPACITY"; echo
    cat bench/notes.md
  } > BENCHMARKS.md
  echo "wrote BENCHMARKS.md"
fi
