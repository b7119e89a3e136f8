#!/usr/bin/env bash
# Capacity figures for a deployment: what one cached section costs Redis in bytes, how many
# Redis commands a hit and a miss send, hits/s through nginx (deploy/nginx.conf) with one and
# with two instances, and what one Redis node does per second here. Prints a Markdown section.
#   bash bench/capacity.sh          release build, 10 s per load
#   bash bench/capacity.sh --smoke  debug build, 1 s per load (the test command runs it via run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0; [ "${1:-}" = "--smoke" ] && SMOKE=1
. bench/lib.sh
. scripts/deps.sh >/dev/null
ensure_nginx >&2
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$BIN" ] || { echo "build first: $BIN is missing (bash bench/run.sh builds it)" >&2; exit 1; }

# Sum of `calls=` over INFO commandstats: every command the server ran since the last reset.
commands() { redis-cli -p "$RP" info commandstats | grep -o 'calls=[0-9]*' | cut -d= -f2 | awk "{ s += \$1 } END { print s + 0 }"; }
reset_stats() { redis-cli -p "$RP" config resetstat >/dev/null; }
per_request() { awk -v c="$1" -v r="$2" 'BEGIN{ if (r == 0) print "—"; else printf "%.2f", c/r }'; }

start_redis

# 1. Commands per hit with L1 off (every hit reads Redis) and on (as deployed), per miss.
start_app l2only REDIS_URL="redis://127.0.0.1:$RP/0" CACHE_L1_ENABLED=false
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"
reset_stats; r=$(load "http://127.0.0.1:$P"); c=$(commands)
HIT_L2=$(per_request "$c" "$(( $(field "$r" requests) ))")
kill "$APID"; wait "$APID" 2>/dev/null || true

start_app both REDIS_URL="redis://127.0.0.1:$RP/0"
wait_http "http://127.0.0.1:$P/healthz"; warm "http://127.0.0.1:$P"; warm "http://127.0.0.1:$P"
reset_stats; r=$(load "http://127.0.0.1:$P"); c=$(commands)
HIT_L1=$(per_request "$c" "$(field "$r" requests)")
HIT_L1_RPS=$(field "$r" rps)

redis-cli -p "$RP" flushall >/dev/null
mem_before=$(redis-cli -p "$RP" info memory | grep '^used_memory:' | cut -d: -f2 | tr -d '\r')
reset_stats; r=$(load "http://127.0.0.1:$P" 1); c=$(commands)
MISSES=$(field "$r" requests)
MISS=$(per_request "$c" "$MISSES")
BY_COMMAND=$(redis-cli -p "$RP" info commandstats | grep -o '^cmdstat_[a-z|]*:calls=[0-9]*' \
  | sed 's/^cmdstat_//; s/:calls=/ /' | sort -k2 -nr | head -8 \
  | awk -v n="$MISSES" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), toupper($1), $2/n }')

# 2. Bytes per cached section: what Redis reports for the entries the misses wrote.
mem_after=$(redis-cli -p "$RP" info memory | grep '^used_memory:' | cut -d: -f2 | tr -d '\r')
mapfile -t KEYS < <(redis-cli -p "$RP" --scan --pattern 'yueen:gen:*' | head -200)
SECTIONS=$(redis-cli -p "$RP" --scan --pattern 'yueen:gen:*' | wc -l)
usage_sum=0; len_sum=0
for k in "${KEYS[@]}"; do
  usage_sum=$(( usage_sum + $(redis-cli -p "$RP" memory usage "$k" samples 0) ))
  len_sum=$(( len_sum + $(redis-cli -p "$RP" strlen "$k") ))
done
n=${#KEYS[@]}
ENTRY_BYTES=$(( n > 0 ? usage_sum / n : 0 ))
VALUE_BYTES=$(( n > 0 ? len_sum / n : 0 ))
NODE_BYTES=$(( SECTIONS > 0 ? (mem_after - mem_before) / SECTIONS : 0 ))
TEXT_CHARS=$(redis-cli -p "$RP" get "${KEYS[0]}" | python3 -c '
import json, sys
raw = sys.stdin.read()
body = raw[raw.index("{"):] if "{" in raw else "{}"
try:
    print(len(json.loads(body).get("content", "")))
except Exception:
    print(0)')
kill "$APID"; wait "$APID" 2>/dev/null || true

# 3. Hits/s through nginx: one instance behind it, then two; the same instance without nginx.
start_app a REDIS_URL="redis://127.0.0.1:$RP/0"; PA=$P
start_app b REDIS_URL="redis://127.0.0.1:$RP/0"; PB=$P
wait_http "http://127.0.0.1:$PA/healthz"; wait_http "http://127.0.0.1:$PB/healthz"
warm "http://127.0.0.1:$PA"; warm "http://127.0.0.1:$PB"
nginx_with() { # PORTS... -> sets NP, the port nginx listens on
  NP=$(free_port)
  local dir="$WORK/nginx-$NP"; mkdir -p "$dir"
  local servers="" port
  for port in "$@"; do servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=5s;\n"; done
  # The shipped file, its two example upstream lines replaced by these instances.
  sed -e '/server 127.0.0.1:3002/d' -e "s|    server 127.0.0.1:3001 .*|$servers|" \
      -e "s|listen 80;|listen 127.0.0.1:$NP;|" deploy/nginx.conf >"$dir/yueen.conf"
  local user=""; [ "$(id -u)" = 0 ] && user="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user
env YUEEN_TEST_RUN;
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    include $dir/yueen.conf;
}
CONF
  "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  PIDS+=("$!")
  wait_http "http://127.0.0.1:$NP/healthz"
}
DIRECT=$(load "http://127.0.0.1:$PA")
nginx_with "$PA"; ONE=$(load "http://127.0.0.1:$NP")
nginx_with "$PA" "$PB"; TWO=$(load "http://127.0.0.1:$NP")

# 4. One Redis node: simple commands per second (16 clients, no pipelining), on the same cores.
REDIS_OPS=$(redis-benchmark -p "$RP" -c 16 -n $([ "$SMOKE" = 1 ] && echo 20000 || echo 400000) \
  -t get,set,incr --csv 2>/dev/null | tail -n +2 | cut -d, -f2 | tr -d '"' \
  | awk '{ s += $1; n++ } END { printf "%d", n ? s / n : 0 }')

errors() { echo $(( $(field "$1" non2xx) + $(field "$1" socket_errors) )); }
# A writer at work: a whole plan (12 sections, first time: misses) every 10 minutes, and about
# 6 more section requests a minute that the cache answers (regenerate, reopen, the page's polls
# are not Redis cache reads). Commands per writer per second at that pace:
WRITER_CPS=$(awk -v m="$MISS" -v h="$HIT_L2" 'BEGIN{ printf "%.3f", (12 * m / 600) + (6 * h / 60) }')
WRITERS=$(awk -v ops="$REDIS_OPS" -v w="$WRITER_CPS" 'BEGIN{ if (w == 0) print 0; else printf "%d", ops * 0.5 / w }')
SECTIONS_PER_GIB=$(( ENTRY_BYTES > 0 ? 1073741824 / ENTRY_BYTES : 0 ))
REAL_BYTES=$(( ENTRY_BYTES - VALUE_BYTES + VALUE_BYTES * 2500 / (TEXT_CHARS > 0 ? TEXT_CHARS : 2500) ))

cat <<MD
## Capacity

Same machine and build as above; one \`redis-server\`, mock generator, wrk -t$THREADS -c$CONNS -d$DURATION.
Scripted in \`bench/capacity.sh\` (run by \`bench/run.sh\`).

| figure | measured |
|---|---|
| one cached section in Redis (\`MEMORY USAGE\`, mean of $n entries) | $ENTRY_BYTES bytes (value $VALUE_BYTES bytes; the mock's text is $TEXT_CHARS characters) |
| Redis \`used_memory\` growth per section written | $NODE_BYTES bytes over $SECTIONS sections |
| the same for a real 2,500-character section (3 bytes a character) | about $REAL_BYTES bytes, so about $(( REAL_BYTES > 0 ? 1073741824 / REAL_BYTES : 0 )) sections per GiB of \`maxmemory\` |
| Redis commands per hit, L1 on (as deployed) | $HIT_L1 |
| Redis commands per hit, L1 off | $HIT_L2 |
| Redis commands per miss | $MISS ($BY_COMMAND) |
| hits/s, one instance, no nginx | $(field "$DIRECT" rps) (p99 $(field "$DIRECT" p99_ms) ms, errors $(errors "$DIRECT")) |
| hits/s through nginx, one instance | $(field "$ONE" rps) (p99 $(field "$ONE" p99_ms) ms, errors $(errors "$ONE")) |
| hits/s through nginx, two instances | $(field "$TWO" rps) (p99 $(field "$TWO" p99_ms) ms, errors $(errors "$TWO")) — $(ratio "$(field "$TWO" rps)" "$(field "$ONE" rps)")× one |
| one Redis node, GET/SET/INCR (redis-benchmark -c 16) | $REDIS_OPS commands/s |

**Two cores cannot show scaling.** wrk, nginx, both instances and Redis share the same two cores, so the
ratio of the two-instance row to the one-instance row says little about what a second machine would add; what
the row does show is nginx spreading the load over both instances without an error. nginx opens a new
connection to an instance for every request (no upstream keep-alive, so a stopping instance never cuts a
request nginx is about to send), and nginx itself needs CPU here; the gap between "no nginx" and "through
nginx" is those two costs together (not measured apart). On separate machines each instance serves about what
the "no nginx" row shows, and the instances are independent: the shared parts are Redis and the model.

**How many users one Redis node serves.** A hit answered by an instance's L1 costs Redis about
nothing ($HIT_L1 commands: the instances' reports and probes, spread over the hits); a hit read from
Redis costs $HIT_L2 and a miss $MISS. A writer at work — a whole 12-section plan every 10 minutes
plus about 6 cached section requests a minute — sends about $WRITER_CPS commands a second. At half of the
$REDIS_OPS commands/s measured above (the other half left for bursts, replication and the deployment's
reports), one node keeps up with about $WRITERS such writers at once. Memory runs out first: the
cache is bounded by \`maxmemory\` and the TTLs (7 days by default), about $(( REAL_BYTES > 0 ? 1073741824 / REAL_BYTES : 0 )) real
sections per GiB; past that, Redis Cluster (\`REDIS_CLUSTER_URLS\`) spreads the keys over masters. The model
provider's rate limits bind long before either.
MD
