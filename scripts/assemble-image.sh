#!/bin/sh
# Assembles what one service's image holds in /app: the compiled packages and service, the
# workspace manifests, that service's production dependencies only, main.js (its entry point)
# and data/ (the one writable directory: DuckDB's file). The Dockerfile's build stage runs it;
# test/repo/image.test.ts runs it too and starts the result as a non-root user.
# Run from the workspace root after `npm ci`.   Usage: scripts/assemble-image.sh SERVICE OUT
set -eu
service=${1:?usage: assemble-image.sh SERVICE OUT}
out=${2:?usage: assemble-image.sh SERVICE OUT}
if [ ! -f "services/${service}/src/main.ts" ]; then
  echo "SERVICE must name a service (publisher-api, subscriber-worker, query-api), got '${service}'" >&2
  exit 1
fi
npx tsc -b "services/${service}"
rm -rf "$out"
mkdir -p "$out"
cp package.json package-lock.json "$out/"
find packages services bench -maxdepth 2 -name package.json -exec cp --parents {} "$out" \;
for d in packages/*/dist "services/${service}/dist"; do cp -r --parents "$d" "$out"; done
# Files a service serves besides its code (the query API's /explorer page).
if [ -d "services/${service}/explorer" ]; then cp -r --parents "services/${service}/explorer" "$out"; fi
find "$out" -name '*.tsbuildinfo' -delete
(cd "$out" && npm ci --omit=dev --no-audit --no-fund --workspace="@eventpipe/${service}" >&2)
echo "require('./services/${service}/dist/main.js');" > "$out/main.js"
mkdir -p "$out/data"
