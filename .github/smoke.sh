#!/usr/bin/env bash
# Smoke test of a deployed environment: scripts/seed.sh POSTs events to the publisher and waits
# until the query API serves them. Usage: smoke.sh <environment>
# Needs API_KEY (events:write and events:read) and either PUBLISHER_URL and QUERY_URL (deploy.sh
# gives the candidate revisions' URLs) or GCP_REGION to look the services' URLs up.
set -euo pipefail
env=${1:?usage: smoke.sh <environment>}
: "${API_KEY:?API_KEY (events:write and events:read)}"
url() { gcloud run services describe "eventpipe-$1-${env}" --region "${GCP_REGION:?GCP_REGION}" --format='value(status.url)'; }
PUBLISHER_URL=${PUBLISHER_URL:-$(url publisher)}
QUERY_URL=${QUERY_URL:-$(url query)}
PUBLISHER_URL=$PUBLISHER_URL QUERY_URL=$QUERY_URL SEED_EVENTS=${SEED_EVENTS:-10} API_KEY="$API_KEY" \
  sh "$(dirname "$0")/../scripts/seed.sh"
