#!/usr/bin/env bash
# Runs `npm start` on embedded defaults (in-process bus, DuckDB file in a temp folder), posts the
# quickstart's and docs/API.md's curl examples, reads them back through the query API, then stops it with SIGINT.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
export DUCKDB_PATH="$dir/eventpipe.duckdb" PUBLISHER_PORT=${PUBLISHER_PORT:-18080} QUERY_PORT=${QUERY_PORT:-18081} WORKER_PORT=${WORKER_PORT:-18082}
# Its own process group, so SIGINT reaches it the way Ctrl-C in a terminal would.
setsid npm start >"$dir/start.log" 2>&1 &
pid=$!
cleanup() { kill -KILL -- "-$pid" 2>/dev/null || true; }
trap cleanup EXIT
pub="http://127.0.0.1:$PUBLISHER_PORT" qry="http://127.0.0.1:$QUERY_PORT"
for _ in $(seq 1 120); do
  curl -fsS "$qry/readyz" >/dev/null 2>&1 && curl -fsS "$pub/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/start.log"; echo "npm start exited early" >&2; exit 1; }
  sleep 0.5
done
curl -fsS -X POST "$pub/v1/events" -H 'Content-Type: application/json' \
  -d '{"type":"com.example.order.created","source":"/shop","id":"smoke-1","data":{"orderId":42}}'
echo
curl -fsS -X POST "$pub/v1/events" -H 'Content-Type: application/cloudevents-batch+json' \
  -d '[{"type":"com.example.order.created","source":"/shop","id":"smoke-2"},{"type":"com.example.order.paid","source":"/shop","id":"smoke-3"}]'
echo
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$pub/v1/events" -H 'Content-Type: application/json' -d '{"source":"/shop"}')
[ "$code" = 400 ] || { echo "expected 400 for an invalid event, got $code" >&2; exit 1; }
count=0
for _ in $(seq 1 40); do
  count=$(curl -fsS "$qry/v1/events?source=/shop" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.length))')
  [ "$count" = 3 ] && break
  sleep 0.25
done
[ "$count" = 3 ] || { echo "expected 3 events from GET /v1/events, got $count" >&2; cat "$dir/start.log"; exit 1; }
curl -fsS "$qry/v1/stats?groupBy=type" && echo
curl -fsS "$qry/v1/events/smoke-1" >/dev/null
# docs/API.md's binary-mode example: ce-* headers and the raw data.
curl -fsS -X POST "$pub/v1/events" -H 'ce-specversion: 1.0' -H 'ce-type: com.example.order.created' \
  -H 'ce-source: /binary' -H 'ce-id: order-42' -H 'Content-Type: application/json' \
  --data-binary '{"orderId":42,"total":"19.90"}' | grep -q '"ids":\["order-42"\]'
# The export examples: every row as NDJSON, and CSV with its header row.
lines=$(curl -fsS -H 'Accept: application/x-ndjson' "$qry/v1/events?source=/shop" | wc -l)
[ "$lines" = 3 ] || { echo "expected 3 NDJSON lines from the export, got $lines" >&2; exit 1; }
curl -fsS -H 'Accept: text/csv' "$qry/v1/events?source=/shop" | head -n 1 | grep -q '^id,source,type,'
# The OpenAPI documents and the docs pages.
for base in "$pub" "$qry"; do
  curl -fsS "$base/openapi.json" | grep -q '"openapi":"3.1.0"'
  curl -fsS "$base/docs" | grep -q 'swagger-ui-bundle.js'
done
# The seed script docker compose runs, against npm start, at its maximum (one request of 1000).
PUBLISHER_URL=$pub QUERY_URL=$qry SEED_EVENTS=1000 sh scripts/seed.sh
kill -INT -- "-$pid"
wait "$pid" && rc=0 || rc=$?
trap - EXIT
[ "$rc" = 0 ] || { echo "npm start exited $rc after SIGINT" >&2; cat "$dir/start.log"; exit 1; }
grep -q 'eventpipe is running in one process' "$dir/start.log"
echo "smoke: npm start served 3 events and shut down cleanly"
rm -rf "$dir"
