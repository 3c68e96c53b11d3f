#!/usr/bin/env bash
# Rolls one environment (made by infra/terraform) to the images tagged $TAG, and back when the new
# revisions fail. Usage: deploy.sh <environment>
# Needs GCP_REGION, REGISTRY, TAG and API_KEY (a key of that environment with events:write and
# events:read, for the smoke test). docs/DEPLOY.md, "CI/CD", describes each step.
#   1. Note the revision that serves each service now: the rollback target.
#   2. The worker first, and it takes over at once (it serves no requests). Readers before
#      writers: a new worker must read what a new publisher writes before anything writes it.
#   3. The two APIs as new revisions that serve nothing yet, tagged `candidate` (their own URLs).
#   4. The smoke test against the candidates: events POSTed to the candidate publisher are read
#      back from the candidate query API (.github/smoke.sh).
#   5. All traffic to the new revisions, named explicitly (--to-latest): a service an operator
#      pinned to an old revision by hand moves too, so what was smoke-tested is what serves.
#   6. The smoke test again, on the services' own URLs.
# Any failure after step 1 sends every service's traffic back to its step-1 revision and exits 1.
set -euo pipefail
env=${1:?usage: deploy.sh <environment>}
: "${GCP_REGION:?GCP_REGION}" "${REGISTRY:?REGISTRY}" "${TAG:?TAG}" "${API_KEY:?API_KEY (the smoke key)}"
here=$(cd "$(dirname "$0")" && pwd)
declare -A short=([subscriber-worker]=worker [publisher-api]=publisher [query-api]=query)
ORDER=(subscriber-worker publisher-api query-api)
CANDIDATE=candidate

svc() { echo "eventpipe-${short[$1]}-${env}"; }
describe() { gcloud run services describe "$(svc "$1")" --region "$GCP_REGION" --format=json; }
# Reads a service description on stdin and prints one field of it.
#   serving: the revision with the largest share of traffic; tag-url: the candidate's URL; url.
field() {
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let status;
      try {
        status = JSON.parse(s).status ?? {};
      } catch {
        // Not a description (nothing, or one value): take its first line as the answer.
        console.log(s.trim().split("\n")[0] ?? "");
        return;
      }
      const traffic = status.traffic ?? [];
      const what = process.argv[1];
      if (what === "serving") {
        const top = traffic.filter((t) => (t.percent ?? 0) > 0).sort((a, b) => b.percent - a.percent)[0];
        console.log(top?.revisionName ?? status.latestReadyRevisionName ?? "");
      } else if (what === "tag-url") {
        console.log(traffic.find((t) => t.tag === process.argv[2])?.url ?? "");
      } else {
        console.log(status.url ?? "");
      }
    });' "$@"
}

declare -A previous
for image in "${ORDER[@]}"; do
  previous[$image]=$(describe "$image" | field serving)
  if [ -z "${previous[$image]}" ]; then
    # Nothing has moved yet: without a rollback target, nothing is deployed.
    echo "deploy: ${env}: cannot tell which revision $(svc "$image") serves; nothing deployed" >&2
    exit 1
  fi
  echo "deploy: $(svc "$image") serves ${previous[$image]} now"
done

rolled_back=0
rollback() {
  [ "$rolled_back" = 1 ] && return
  rolled_back=1
  echo "deploy: rolling back ${env}" >&2
  local image complete=1
  for image in "${ORDER[@]}"; do
    gcloud run services update-traffic "$(svc "$image")" --region "$GCP_REGION" \
      --to-revisions="${previous[$image]}=100" --quiet || {
      complete=0
      echo "deploy: could not roll $(svc "$image") back to ${previous[$image]}" >&2
    }
  done
  # A failed candidate keeps no URL (nor the instances a tagged revision keeps warm).
  for image in publisher-api query-api; do
    gcloud run services update-traffic "$(svc "$image")" --region "$GCP_REGION" \
      --remove-tags="$CANDIDATE" --quiet >/dev/null 2>&1 || true
  done
  [ "$complete" = 1 ] || echo "deploy: ${env}: the rollback is INCOMPLETE; see above" >&2
}
fail() {
  trap - ERR TERM INT
  echo "deploy: ${env}: $*" >&2
  rollback
  echo "deploy: ${env} rolled back to the revisions serving before; ${TAG} is not serving" >&2
  exit 1
}
# From here on, any failing command, or a cancelled job, rolls back.
trap 'fail "a command failed (line $LINENO)"' ERR
trap 'fail "cancelled"' TERM INT

image_of() { echo "${REGISTRY}/$1:${TAG}"; }

# 2. The worker: its new revision takes all (no requests, so nothing to test before).
gcloud run deploy "$(svc subscriber-worker)" --region "$GCP_REGION" \
  --image "$(image_of subscriber-worker)" --quiet || fail "the worker's new revision did not start"
gcloud run services update-traffic "$(svc subscriber-worker)" --region "$GCP_REGION" \
  --to-latest --quiet || fail "could not move the worker to its new revision"

# 3. The APIs: new revisions with no traffic, reachable at their candidate URLs.
declare -A candidate_url
for image in publisher-api query-api; do
  gcloud run deploy "$(svc "$image")" --region "$GCP_REGION" --image "$(image_of "$image")" \
    --no-traffic --tag "$CANDIDATE" --quiet || fail "$(svc "$image"): the new revision did not start"
  candidate_url[$image]=$(describe "$image" | field tag-url "$CANDIDATE")
  [ -n "${candidate_url[$image]}" ] || fail "$(svc "$image") has no ${CANDIDATE} URL"
done

# 4. Smoke-test the candidates.
PUBLISHER_URL=${candidate_url[publisher-api]} QUERY_URL=${candidate_url[query-api]} \
  bash "$here/smoke.sh" "$env" || fail "the smoke test of the new revisions failed"

# 5. Switch: all traffic to the new revisions.
for image in publisher-api query-api; do
  gcloud run services update-traffic "$(svc "$image")" --region "$GCP_REGION" --to-latest --quiet ||
    fail "could not move $(svc "$image") to its new revision"
done

# 6. Smoke-test what now serves.
bash "$here/smoke.sh" "$env" || fail "the smoke test after the switch failed"
echo "deploy: ${env} serves ${TAG}"
