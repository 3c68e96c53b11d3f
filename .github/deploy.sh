#!/usr/bin/env bash
# Rolls the three Cloud Run services of one environment (created by infra/terraform) to the
# images tagged $TAG. Usage: deploy.sh <environment>; needs GCP_REGION, TAG and REGISTRY.
set -euo pipefail
env=${1:?environment}
declare -A service=([publisher-api]=publisher [subscriber-worker]=worker [query-api]=query)
for image in publisher-api subscriber-worker query-api; do
  gcloud run deploy "eventpipe-${service[$image]}-${env}" \
    --region "$GCP_REGION" --image "${REGISTRY}/${image}:${TAG}" --quiet
done
