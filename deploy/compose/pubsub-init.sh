#!/usr/bin/env sh
# Creates the Pub/Sub topology eventpipe expects, with the policies of docs/RELIABILITY.md:
# topic, dead-letter topic, the worker's subscription (dead-letter after 5 attempts, retry
# backoff 1 s … 60 s, 60 s ack deadline) and a subscription that keeps dead-lettered messages
# for 7 days. Idempotent. Used by docker compose (service pubsub-init) against the emulator;
# the same commands work against Google Cloud without the two emulator variables.
#   PUBSUB_EMULATOR_HOST  host:port of the emulator (unset: Google Cloud)
#   GOOGLE_CLOUD_PROJECT  project id
set -eu
: "${GOOGLE_CLOUD_PROJECT:?set GOOGLE_CLOUD_PROJECT}"
TOPIC=${PUBSUB_TOPIC:-events}
SUBSCRIPTION=${PUBSUB_SUBSCRIPTION:-events-worker}
DLQ_TOPIC=${PUBSUB_DLQ_TOPIC:-events-dlq}
DLQ_SUBSCRIPTION=${PUBSUB_DLQ_SUBSCRIPTION:-events-dlq}
if [ -n "${PUBSUB_EMULATOR_HOST:-}" ]; then
  export CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB="http://${PUBSUB_EMULATOR_HOST}/"
  export CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true
fi
export CLOUDSDK_CORE_PROJECT="$GOOGLE_CLOUD_PROJECT"

exists() { gcloud pubsub "$1" describe "$2" --format='value(name)' >/dev/null 2>&1; }

exists topics "$TOPIC" || gcloud pubsub topics create "$TOPIC"
exists topics "$DLQ_TOPIC" || gcloud pubsub topics create "$DLQ_TOPIC"
exists subscriptions "$SUBSCRIPTION" || gcloud pubsub subscriptions create "$SUBSCRIPTION" \
  --topic="$TOPIC" \
  --ack-deadline=60 \
  --dead-letter-topic="$DLQ_TOPIC" \
  --max-delivery-attempts=5 \
  --min-retry-delay=1s \
  --max-retry-delay=60s
exists subscriptions "$DLQ_SUBSCRIPTION" || gcloud pubsub subscriptions create "$DLQ_SUBSCRIPTION" \
  --topic="$DLQ_TOPIC" \
  --ack-deadline=60 \
  --message-retention-duration=7d
echo "pubsub-init: $TOPIC, $SUBSCRIPTION, $DLQ_TOPIC, $DLQ_SUBSCRIPTION ready in $GOOGLE_CLOUD_PROJECT"
