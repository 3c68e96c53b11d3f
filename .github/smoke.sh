#!/usr/bin/env bash
# Smoke test of a deployed environment: scripts/seed.sh against its publisher and query URLs.
# Usage: smoke.sh <environment>; needs GCP_REGION and API_KEY (events:write and events:read).
set -euo pipefail
env=${1:?environment}
url() { gcloud run services describe "eventpipe-$1-${env}" --region "$GCP_REGION" --format='value(status.url)'; }
PUBLISHER_URL=$(url publisher) QUERY_URL=$(url query) SEED_EVENTS=10 API_KEY="$API_KEY" \
  sh "$(dirname "$0")/../scripts/seed.sh"
