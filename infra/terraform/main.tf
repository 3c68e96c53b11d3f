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
# With var.kms_key_name, both topics keep their messages under that key (docs/SECURITY.md); a
# topic made before Pub/Sub's service agent may use the key would fail, hence the depends_on.
resource "google_pubsub_topic" "events" {
  name         = "events-${local.suffix}"
  kms_key_name = var.kms_key_name
  labels       = local.labels
  depends_on   = [google_kms_crypto_key_iam_member.pubsub_agent_uses_key]
}

resource "google_pubsub_topic" "dead_letter" {
  name         = "events-dlq-${local.suffix}"
  kms_key_name = var.kms_key_name
  labels       = local.labels
  depends_on   = [google_kms_crypto_key_iam_member.pubsub_agent_uses_key]
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
# With var.kms_key_name, the dataset's default key and each table's key (CMEK, docs/SECURITY.md).
# A table's key cannot change without replacing the table, which deletion_protection refuses:
# the key is chosen at the first apply. Each waits for BigQuery's service account to hold the
# key (creating a CMEK table before fails).
resource "google_bigquery_dataset" "events" {
  dataset_id = "eventpipe_${replace(local.suffix, "-", "_")}"
  location   = var.region
  labels     = local.labels
  dynamic "default_encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = default_encryption_configuration.value
    }
  }
  lifecycle {
    # BigQuery takes only a key in the dataset's own location: var.region, a region, since it
    # is Cloud Run's too.
    precondition {
      condition     = var.kms_key_name == null ? true : lower(split("/", var.kms_key_name)[3]) == lower(var.region)
      error_message = "kms_key_name: the key must be in the dataset's location, var.region."
    }
  }
  depends_on = [google_kms_crypto_key_iam_member.bigquery_uses_key]
}

# retention_days: each day partition is dropped once its date is older than that many days
# (docs/DEPLOY.md); changing it updates the table in place. 0 is no expiry: a null here would
# leave an expiry set earlier in place (the provider keeps what it read).
resource "google_bigquery_table" "events" {
  dataset_id               = google_bigquery_dataset.events.dataset_id
  table_id                 = "events"
  schema                   = file("${path.module}/schema/events.json")
  require_partition_filter = true
  clustering               = ["type", "source"]
  time_partitioning {
    type          = "DAY"
    field         = "time"
    expiration_ms = var.retention_days == null ? 0 : var.retention_days * 86400000
  }
  dynamic "encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = encryption_configuration.value
    }
  }
  deletion_protection = true
  labels              = local.labels
  depends_on          = [google_kms_crypto_key_iam_member.bigquery_uses_key]
}

# The schema registry's versions (docs/SCHEMAS.md). The typed views beside it (events_<type>)
# are created by the query API when a version is registered.
resource "google_bigquery_table" "schemas" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = "schemas"
  schema     = file("${path.module}/schema/schemas.json")
  dynamic "encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = encryption_configuration.value
    }
  }
  deletion_protection = true
  labels              = local.labels
  depends_on          = [google_kms_crypto_key_iam_member.bigquery_uses_key]
}

# Erasures on request (docs/DEPLOY.md): an append-only log of each erasure's steps, which is also
# its audit trail. The query API appends requests and lifts, the worker its progress; the
# publisher reads it for the subjects it suppresses. Small (a few rows per erasure): not
# partitioned, and never expired with the events.
resource "google_bigquery_table" "erasures" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = "erasures"
  schema     = file("${path.module}/schema/erasures.json")
  dynamic "encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = encryption_configuration.value
    }
  }
  deletion_protection = true
  labels              = local.labels
  depends_on          = [google_kms_crypto_key_iam_member.bigquery_uses_key]
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
