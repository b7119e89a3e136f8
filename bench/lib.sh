# Shared by bench/run.sh and bench/capacity.sh: settings, the processes a run starts (all
# stopped on exit), and the load generator. Sourced; expects SMOKE=0|1.
DURATION=10s; CONNS=16; THREADS=2; PROFILE=release
if [ "$SMOKE" = 1 ]; then DURATION=1s; PROFILE=debug; fi
TOKEN=bench-admin-token
BIN=target/$PROFILE/yueen
BASE_BIN=target/$PROFILE/yueen-baseline
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Below Linux's ephemeral range (32768–60999), where outgoing connections take their local
# ports: a port nobody listens on may still be held by a connection, and then cannot be bound.
free_port() {
  local p
  for p in $(shuf -i 20000-32000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }

# start_redis -> sets RP (the port) and RPID.
start_redis() {
  RP=$(free_port)
  mkdir -p "$WORK/redis-$RP"
  redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/redis-$RP" >/dev/null &
  RPID=$!; PIDS+=("$RPID")
  for _ in $(seq 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.05; done
}

# start_app NAME [ENV=VALUE ...] -> sets P (the port) and APID; the pid goes into PIDS. Runs in
# this shell, not in a command substitution, so the cleanup trap sees every pid.
start_app() {
  P=$(free_port)
  env LEPTOS_SITE_ADDR="127.0.0.1:$P" LEPTOS_SITE_ROOT=target/site LOG_DIR="$WORK/logs-$1" DATA_DIR="$WORK/data-$1" \
      ADMIN_TOKEN=$TOKEN OPENAI_API_KEY= RUST_LOG=warn SHUTDOWN_DRAIN_SECS=0 "${@:2}" "$BIN" >"$WORK/$1.log" 2>&1 &
  APID=$!; PIDS+=("$APID")
}

load() { # URL [UNIQUE]
  # An unmeasured warm-up first (connections, allocator, page faults), except in smoke mode.
  [ "$SMOKE" = 0 ] && UNIQUE=${2:-0} BENCH_TOKEN=$TOKEN wrk -t$THREADS -c$CONNS -d2s -s bench/post.lua "$1" >/dev/null
  UNIQUE=${2:-0} BENCH_TOKEN=$TOKEN wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/post.lua "$1" \
    | grep '^RESULT' | sed 's/^RESULT //'
}
field() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
warm() { curl -s -o /dev/null -X POST "$1/api/ai/generate" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"template_id":"emergency_plan","section_id":"2","data":{"enterprise_info":{"enterprise_name":"测试企业","industry_type":"化工制造","address":"北京市朝阳区","main_products":"化工产品","employees_count":100}}}'; }
rss_kb() { grep VmRSS "/proc/$1/status" | awk '{print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "—"; else printf "%.2f", a/b }'; }
