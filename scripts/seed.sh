#!/bin/sh
# POSTs sample events to a publisher API and waits until the query API serves them. POSIX sh with
# curl and awk only, so it runs in docker compose's curl image and against `npm start` alike.
#   PUBLISHER_URL (default http://127.0.0.1:8080), QUERY_URL (default http://127.0.0.1:8081),
#   API_KEY (optional, sent as a bearer key), SEED_EVENTS (default 20, 1 to 1000: one request).
# The body goes to curl on stdin, so its size is bounded by nothing but the API's own limits.
set -eu
PUBLISHER_URL=${PUBLISHER_URL:-http://127.0.0.1:8080}
QUERY_URL=${QUERY_URL:-http://127.0.0.1:8081}
N=${SEED_EVENTS:-20}
case "$N" in
  '' | *[!0-9]*) echo "seed: SEED_EVENTS must be a whole number from 1 to 1000, got '$N'" >&2; exit 2 ;;
esac
if [ "$N" -lt 1 ] || [ "$N" -gt 1000 ]; then
  echo "seed: SEED_EVENTS must be from 1 to 1000 (one request), got $N" >&2
  exit 2
fi
AUTH="X-Seed: 1"
[ -n "${API_KEY:-}" ] && AUTH="Authorization: Bearer ${API_KEY}"
run="seed-$(date +%s)"
awk -v n="$N" -v run="$run" 'BEGIN {
  split("com.example.order.created com.example.order.paid com.example.order.shipped", t, " ")
  printf "["
  for (i = 1; i <= n; i++) {
    if (i > 1) printf ","
    printf "{\"id\":\"%s-%d\",\"source\":\"/seed/%s\",\"type\":\"%s\",\"data\":{\"orderId\":%d,\"amount\":%d.5}}", run, i, run, t[i % 3 + 1], i, i * 7
  }
  printf "]"
}' | curl -sS --fail -H "$AUTH" -H 'content-type: application/json' \
  -X POST "${PUBLISHER_URL}/v1/events" --data-binary @- >/dev/null
echo "seed: $N events accepted under source /seed/${run}"
stored=0
i=0
while [ "$i" -lt 60 ]; do
  # An error answer ends the seed at once: waiting would not change it.
  stats=$(curl -sS --fail -H "$AUTH" "${QUERY_URL}/v1/stats?source=/seed/${run}&interval=day") || {
    echo "seed: the query API answered GET /v1/stats with an error" >&2
    exit 1
  }
  stored=$(printf '%s\n' "$stats" |
    awk '{ while (match($0, /"count":[0-9]+/)) { s += substr($0, RSTART + 8, RLENGTH - 8); $0 = substr($0, RSTART + RLENGTH) } } END { print s + 0 }')
  if [ "$stored" -ge "$N" ]; then
    echo "seed: $N events stored under source /seed/${run}"
    exit 0
  fi
  i=$((i + 1))
  sleep 1
done
echo "seed: only $stored of $N events visible after 60 s" >&2
exit 1
