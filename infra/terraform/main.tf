locals {
  suffix = var.environment
  # Cloud Run's URL of the query API, known before it exists: the base of every dataschema URI.
  query_url = "https://eventpipe-query-${local.suffix}-${data.google_project.this.number}.${var.region}.run.app"
  registry = "${var.region}-docker.pkg.dev/${var.project}/${data.google_artifact_registry_repository.images.repository_id}"
  labels   = { app = "eventpipe", environment = var.environment }
}

data "google_project" "this" {}

# ---- Artifact Registry: shared by every environment, created by infra/terraform/shared ---------
# Read, not created: two environments in two states would both try to create it.
data "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = var.registry
}

# ---- Pub/Sub (policies as docs/RELIABILITY.md) --------------------------------------------------
resource "google_pubsub_topic" "events" {
  name   = "events-${local.suffix}"
  labels = local.labels
}

resource "google_pubsub_topic" "dead_letter" {
  name   = "events-dlq-${local.suffix}"
  labels = local.labels
}

resource "google_pubsub_subscription" "worker" {
  name                 = "events-worker-${local.suffix}"
  topic                = google_pubsub_topic.events.id
  ack_deadline_seconds = 60
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }
  retry_policy {
    minimum_backoff = "1s"
    maximum_backoff = "60s"
  }
  expiration_policy {
    ttl = "" # never expires, however long the worker is away
  }
  labels = local.labels
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "events-dlq-${local.suffix}"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s" # 7 days: time to fix and replay (npm run replay)
  expiration_policy {
    ttl = ""
  }
  labels = local.labels
}

# ---- BigQuery (schema derived from packages/schema; a test keeps the JSON equal) ----------------
resource "google_bigquery_dataset" "events" {
  dataset_id = "eventpipe_${replace(local.suffix, "-", "_")}"
  location   = var.region
  labels     = local.labels
}

resource "google_bigquery_table" "events" {
  dataset_id               = google_bigquery_dataset.events.dataset_id
  table_id                 = "events"
  schema                   = file("${path.module}/schema/events.json")
  require_partition_filter = true
  clustering               = ["type", "source"]
  time_partitioning {
    type  = "DAY"
    field = "time"
  }
  deletion_protection = true
  labels              = local.labels
}

# The schema registry's versions (docs/SCHEMAS.md). The typed views beside it (events_<type>)
# are created by the query API when a version is registered.
resource "google_bigquery_table" "schemas" {
  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = "schemas"
  schema              = file("${path.module}/schema/schemas.json")
  deletion_protection = true
  labels              = local.labels
}

# ---- Secret Manager ------------------------------------------------------------------------------
# The API_KEYS JSON: names, scopes, grants and sha256 hashes, never keys (npm run keys -- create).
# Its first version comes from var.api_keys_json so the services can start on the first apply;
# later versions may be added with gcloud (the services read version "latest" at start).
resource "google_secret_manager_secret" "api_keys" {
  secret_id = "eventpipe-api-keys-${local.suffix}"
  replication {
    auto {}
  }
  labels = local.labels
}

resource "google_secret_manager_secret_version" "api_keys" {
  secret      = google_secret_manager_secret.api_keys.id
  secret_data = var.api_keys_json
  lifecycle {
    # Keys rotated with `gcloud secrets versions add` are not rolled back by the next apply.
    ignore_changes = [secret_data]
  }
}

# The key that signs query cursors: 48 random characters, made here, never typed by anyone.
resource "random_password" "cursor_secret" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret" "cursor_secret" {
  secret_id = "eventpipe-cursor-secret-${local.suffix}"
  replication {
    auto {}
  }
  labels = local.labels
}

resource "google_secret_manager_secret_version" "cursor_secret" {
  secret      = google_secret_manager_secret.cursor_secret.id
  secret_data = random_password.cursor_secret.result
}
