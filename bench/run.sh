#!/usr/bin/env bash
# Benchmarks Yueen against a bare axum baseline in one run, on loopback only.
#   bash bench/run.sh          full run: release build, 10 s per scenario, writes BENCHMARKS.md
#   bash bench/run.sh --smoke  a few seconds on the debug build, writes nothing (keeps the script alive)
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0; [ "${1:-}" = "--smoke" ] && SMOKE=1
. bench/lib.sh
. scripts/leptos-env.sh

command -v wrk >/dev/null || { sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo; $sudo_ apt-get install -y -qq wrk; }

if [ $SMOKE = 0 ]; then
  if ! command -v wasm-opt >/dev/null; then
    npm install --prefix target/tools --no-audit --no-fund binaryen@132 >/dev/null
    export PATH="$PWD/target/tools/node_modules/.bin:$PATH"
  fi
  cargo leptos build --release --split --precompress
  with_leptos_env release cargo build --release --no-default-features --features ssr --bin yueen-baseline
else
  # The test command has built both already (`cargo leptos build`, `cargo leptos test`).
  [ -x "$BIN" ] || cargo leptos build --split
  [ -x "$BASE_BIN" ] || with_leptos_env debug cargo build --no-default-features --features ssr --bin yueen-baseline
fi

start_redis; REDIS_PORT=$RP; REDIS_PID=$RPID

declare -A R
# 1–3. The bare axum baseline, L1 (memory) hits and Redis hits (L1 off), three rounds taken in
# turn, so each round's ratios compare runs made seconds apart and the spread shows the noise.
ROUNDS=3; [ $SMOKE = 1 ] && ROUNDS=1
BPORT=$(free_port)
BASELINE_ADDR="127.0.0.1:$BPORT" "$BASE_BIN" >"$WORK/baseline.log" 2>&1 & PIDS+=("$!")
wait_http "http://127.0.0.1:$BPORT/"
start_app l1; L1_PORT=$P; wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
start_app l2 REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" CACHE_L1_ENABLED=false
L2_PORT=$P; wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
# The machine's speed drifts (a shared host): each round's baseline is the mean of one run
# before and one after its L1 and Redis runs.
for r in $(seq $ROUNDS); do
  before=$(load "http://127.0.0.1:$BPORT")
  R[l1_$r]=$(load "http://127.0.0.1:$L1_PORT")
  R[redis_$r]=$(load "http://127.0.0.1:$L2_PORT")
  after=$(load "http://127.0.0.1:$BPORT")
  mean=$(awk -v a="$(field "$before" rps)" -v b="$(field "$after" rps)" 'BEGIN{printf "%.1f", (a + b) / 2}')
  R[baseline_$r]=$(echo "$before" | sed -E "s/rps=[0-9.]+/rps=$mean/")
  R[baseline_spread_$r]="$(field "$before" rps) / $(field "$after" rps)"
done
# The round whose L1 ratio is the median stands for the run in the table.
MID=$(for r in $(seq $ROUNDS); do
  echo "$r $(ratio "$(field "${R[l1_$r]}" rps)" "$(field "${R[baseline_$r]}" rps)")"
done | sort -k2 -n | awk -v n=$ROUNDS 'NR == int((n + 1) / 2) {print $1}')
R[baseline]=${R[baseline_$MID]}; R[l1_hits]=${R[l1_$MID]}; R[redis_hits]=${R[redis_$MID]}
# min–max over the rounds of a scenario's ratio to its round's baseline, or of its p99.
spread() { # SCENARIO ratio|p99
  for r in $(seq $ROUNDS); do
    if [ "$2" = ratio ]; then v=$(ratio "$(field "${R[$1_$r]}" rps)" "$(field "${R[baseline_$r]}" rps)")
    else v=$(field "${R[$1_$r]}" p99_ms); fi
    echo "$v"
  done | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s–%s", lo, hi}'
}
# Every round must meet a goal for the run to meet it.
worst() { # SCENARIO ratio|p99
  spread "$1" "$2" | awk -F'–' -v k="$2" '{print (k == "ratio") ? $1 : $2}'
}

# 2b. L1 hits with every per-user limit on (set far above the load, so nothing is refused):
# what admission and accounting cost on the hit path.
start_app limits LIMIT_REQUESTS_PER_MINUTE=1000000 LIMIT_CONCURRENT_GENERATIONS=10000 \
  LIMIT_TOKENS_PER_DAY=1000000000000
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
R[l1_limits]=$(load "http://127.0.0.1:$P")
R[l1_nolimits]=$(load "http://127.0.0.1:$L1_PORT")

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

# 7. What each page loads, and first use on a slow network in Chromium (bench/first-use.js):
# cold cache, 1.6 Mbit/s down, 150 ms round trip, 4x CPU slowdown. Smoke mode checks the
# script on the debug build without the throttle.
TTFB_MS=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_starttransfer}\n' "http://127.0.0.1:$L1_PORT/login"; done \
  | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR/2)+1]*1000}')
FIRST_USE=$(FIRST_USE_FAST=$SMOKE node bench/first-use.js "http://127.0.0.1:$L1_PORT" "$TOKEN" $([ $SMOKE = 1 ] && echo 1 || echo 5))
page_field() { echo "$FIRST_USE" | grep "\"page\":\"$1\"" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
PAGES=$( {
  echo "| page | wasm + JS on the wire | wasm + JS decoded | usable after (median of $(echo "$FIRST_USE" | head -1 | grep -o '"runs":\[[^]]*\]' | tr -cd ',' | wc -c | awk '{print $1 + 1}')) | every run, ms |"
  echo "|---|---|---|---|---|"
  for pg in / /admin/cache /docs /login; do
    printf '| `%s` | %s KiB | %s KiB | %s ms | %s |\n' "$pg" \
      "$(( ($(page_field "$pg" wasm) + $(page_field "$pg" js)) / 1024 ))" \
      "$(( ($(page_field "$pg" wasm_raw) + $(page_field "$pg" js_raw)) / 1024 ))" \
      "$(page_field "$pg" ms)" \
      "$(echo "$FIRST_USE" | grep "\"page\":\"$pg\"" | grep -o '"runs":\[[^]]*\]' | cut -d'[' -f2 | tr -d ']' | sed 's/,/, /g')"
  done
} )
# The bundle as built: every wasm and JS file, as gzip -9 and as the brotli copy sent.
BUNDLE=$( {
  echo "| file | raw KiB | gzip -9 KiB | brotli (sent) KiB |"
  echo "|---|---|---|---|"
  for f in target/site/pkg/*.wasm target/site/pkg/*.js; do
    br=$([ -f "$f.br" ] && echo $(( $(stat -c %s "$f.br") / 1024 )) || echo "—")
    printf '| `%s` | %s | %s | %s |\n' "$(basename "$f" | sed -E 's/\.[A-Za-z0-9_-]{22}\././')" \
      $(( $(stat -c %s "$f") / 1024 )) $(( $(gzip -9 -c "$f" | wc -c) / 1024 )) "$br"
  done
} )
# The generator page's wasm + JS, gzip -9 of what it loads before it is usable.
MAIN_GZ=$(( ( $(gzip -9 -c target/site/pkg/yueen.*.wasm | wc -c) + $(cat target/site/pkg/yueen.*.js target/site/pkg/__wasm_split.*.js | gzip -9 | wc -c) ) / 1024 ))

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
ROUNDS_TABLE=$( {
  echo "| round | baseline req/s (before / after) | L1 hits × baseline | L1-hit p99 ms | Redis hits × baseline |"
  echo "|---|---|---|---|---|"
  for r in $(seq $ROUNDS); do
    printf '| %s | %s (%s) | %s | %s | %s |\n' "$r" "$(field "${R[baseline_$r]}" rps)" "${R[baseline_spread_$r]}" \
      "$(ratio "$(field "${R[l1_$r]}" rps)" "$(field "${R[baseline_$r]}" rps)")" "$(field "${R[l1_$r]}" p99_ms)" \
      "$(ratio "$(field "${R[redis_$r]}" rps)" "$(field "${R[baseline_$r]}" rps)")"
  done
} )
SUMMARY="The table shows round $MID of $ROUNDS (the median L1 ratio), its baseline the mean of a run before and one after; every round is listed below it.
RSS: $((RSS_SMALL/1024)) MiB after $KEYS_SMALL keys, $((RSS_BIG/1024)) MiB after $KEYS_BIG keys (ratio $(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}')).
Server-rendered /login TTFB median: $TTFB_MS ms."
echo "$TABLE"; echo "$ROUNDS_TABLE"; echo "$SUMMARY"; echo "$PAGES"; echo "$BUNDLE"

# The goals of issues #6 and #16, checked against this run; a ratio goal is met when every
# round meets it.
targets() {
  local l2 kill_err first
  limits=$(awk -v a="$(field "${R[l1_limits]}" rps)" -v b="$(field "${R[l1_nolimits]}" rps)" 'BEGIN{printf "%.3f", a/b}')
  kill_err=$(( $(field "${R[redis_killed]}" non2xx) + $(field "${R[redis_killed]}" socket_errors) ))
  first=$(page_field / ms)
  verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN{ok = (op == ">=") ? v >= t : v <= t; print (ok ? "met" : "missed")}'; }
  echo "| target | goal | measured ($ROUNDS rounds: worst–best, or range) | result |"
  echo "|---|---|---|---|"
  echo "| L1 hits vs baseline | ≥ 0.75× | $(spread l1 ratio)× | $(verdict "$(worst l1 ratio)" 0.75 '>=') |"
  echo "| Redis hits (L1 off) vs baseline | ≥ 0.50× | $(spread redis ratio)× | $(verdict "$(worst redis ratio)" 0.5 '>=') |"
  echo "| L1-hit p99 | ≤ 2 ms | $(spread l1 p99) ms | $(verdict "$(worst l1 p99)" 2 '<=') |"
  echo "| L1 hits with limits on vs without (back to back) | ≥ 0.95× | ${limits}× | $(verdict "$limits" 0.95 '>=') |"
  echo "| errors while redis-server is killed | 0 | ${kill_err} | $(verdict "$kill_err" 0 '<=') |"
  echo "| RSS 100k keys / 10k keys | ≤ 1.5 | $(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}') | $(verdict "$(awk -v a=$RSS_BIG -v b=$RSS_SMALL 'BEGIN{printf "%.2f", a/b}')" 1.5 '<=') |"
  echo "| \`/\`: wasm + JS before usable, gzip -9 | ≤ 250 KiB | ${MAIN_GZ} KiB | $(verdict "$MAIN_GZ" 250 '<=') |"
  echo "| \`/\`: first use, slow network, cold cache (median) | ≤ 3000 ms | ${first} ms | $(verdict "$first" 3000 '<=') |"
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
    echo "$TABLE"; echo; echo "$ROUNDS_TABLE"; echo; echo "$SUMMARY"; echo
    echo "## What each page loads, and first use on a slow network"; echo
    echo "Chromium (Playwright, \`bench/first-use.js\`), a new profile per run (cold cache), network"
    echo "emulation 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip, CPU slowed 4×. \"Usable\" is"
    echo "measured from the start of navigation until the page is hydrated (\`<html data-hydrated>\`,"
    echo "set once the page's code, a lazily loaded page's own chunk included, has hydrated it) and, on"
    echo "\`/\`, the \"生成章节\" button is enabled. Bytes are the wasm and JS received by then (on \`/\`,"
    echo "the plan cards' chunk, requested once the page is hydrated, is mostly still on its way)."; echo
    echo "$PAGES"; echo
    echo "$BUNDLE"; echo
    echo "## Targets"; echo
    echo "$TARGETS"; echo
    echo "$CAPACITY"; echo
    cat bench/notes.md
  } > BENCHMARKS.md
  echo "wrote BENCHMARKS.md"
fi
