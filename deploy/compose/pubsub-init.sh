#!/usr/bin/env sh
# Creates the Pub/Sub topology eventpipe expects (docs/RELIABILITY.md): topic, dead-letter
# topic, the worker's subscription (60 s ack deadline; on Google Cloud also dead-letter after 5
# attempts and retry backoff 1 s … 60 s) and a subscription that keeps dead-lettered messages for
# 7 days. Idempotent. Used by docker compose (service pubsub-init) against the emulator; the same
# commands work against Google Cloud without the emulator variable.
# On the emulator the worker's subscription gets neither policy, as the services create it
# (PUBSUB_SUBSCRIPTION_POLICIES=auto): the emulator loses messages a killed subscriber held on a
# subscription with either policy.
#   PUBSUB_EMULATOR_HOST         host:port of the emulator (unset: Google Cloud)
#   GOOGLE_CLOUD_PROJECT         project id
#   PUBSUB_SUBSCRIPTION_POLICIES auto (default), on or off
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
POLICIES=${PUBSUB_SUBSCRIPTION_POLICIES:-auto}
if [ "$POLICIES" = auto ]; then
  if [ -n "${PUBSUB_EMULATOR_HOST:-}" ]; then POLICIES=off; else POLICIES=on; fi
fi
if [ "$POLICIES" = on ]; then
  set -- --dead-letter-topic="$DLQ_TOPIC" --max-delivery-attempts=5 \
    --min-retry-delay=1s --max-retry-delay=60s
else
  set --
fi
exists subscriptions "$SUBSCRIPTION" || gcloud pubsub subscriptions create "$SUBSCRIPTION" \
  --topic="$TOPIC" \
  --ack-deadline=60 "$@"
exists subscriptions "$DLQ_SUBSCRIPTION" || gcloud pubsub subscriptions create "$DLQ_SUBSCRIPTION" \
  --topic="$DLQ_TOPIC" \
  --ack-deadline=60 \
  --message-retention-duration=7d
echo "pubsub-init: $TOPIC, $SUBSCRIPTION (policies $POLICIES), $DLQ_TOPIC, $DLQ_SUBSCRIPTION ready in $GOOGLE_CLOUD_PROJECT"
