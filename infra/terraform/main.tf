locals {
  suffix   = var.environment
  registry = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
  labels   = { app = "eventpipe", environment = var.environment }
}

data "google_project" "this" {}

# ---- Artifact Registry -------------------------------------------------------------------------
resource "google_artifact_registry_repository" "images" {
  repository_id = "eventpipe"
  location      = var.region
  format        = "DOCKER"
  description   = "eventpipe service images (pushed by .github/workflows/cd.yml)"
  labels        = local.labels
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

# ---- Secret Manager: the API_KEYS JSON (hashes only; npm run keys -- create) --------------------
resource "google_secret_manager_secret" "api_keys" {
  secret_id = "eventpipe-api-keys-${local.suffix}"
  replication {
    auto {}
  }
  labels = local.labels
}
