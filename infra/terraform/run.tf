# The three Cloud Run services. Terraform owns their configuration; CD (.github/workflows/cd.yml)
# rolls new images with `gcloud run deploy --image`, so the image is ignored here after creation.
# A revision starts only when what it reads is there: each service depends on the secret versions
# and IAM grants it needs (Terraform cannot see that from the references alone).

resource "google_cloud_run_v2_service" "publisher" {
  name     = "eventpipe-publisher-${local.suffix}"
  # A first apply that failed (IAM still propagating) is retried by applying again, which
  # replaces the failed service: the provider's default protection would refuse.
  deletion_protection = false
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  labels   = local.labels
  template {
    service_account = google_service_account.publisher.email
    scaling {
      min_instance_count = 1
      max_instance_count = 20
    }
    containers {
      image = "${local.registry}/publisher-api:${var.image_tag}"
      ports {
        container_port = 8080
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project
      }
      env {
        name  = "PUBSUB_TOPIC"
        value = google_pubsub_topic.events.name
      }
      # The schema registry is read from the dataset's schemas table (docs/SCHEMAS.md).
      env {
        name  = "STORE"
        value = "bigquery"
      }
      env {
        name  = "BIGQUERY_DATASET"
        value = google_bigquery_dataset.events.dataset_id
      }
      env {
        name  = "BIGQUERY_LOCATION"
        value = var.region
      }
      env {
        name  = "SCHEMA_URI_BASE"
        value = local.query_url
      }
      env {
        name  = "API_KEYS_FILE"
        value = "/secrets/api-keys/keys.json"
      }
      # Cloud Run's front end is one proxy hop: the client address is the last X-Forwarded-For entry.
      env {
        name  = "TRUST_PROXY"
        value = "1"
      }
      # retention_days, when set: the retention the service applies (docs/DEPLOY.md).
      dynamic "env" {
        for_each = var.retention_days == null ? [] : [var.retention_days]
        content {
          name  = "RETENTION_DAYS"
          value = tostring(env.value)
        }
      }
      volume_mounts {
        name       = "api-keys"
        mount_path = "/secrets/api-keys"
      }
      startup_probe {
        http_get {
          path = "/healthz"
        }
      }
      liveness_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
    volumes {
      name = "api-keys"
      secret {
        secret = google_secret_manager_secret.api_keys.secret_id
        items {
          version = "latest"
          path    = "keys.json"
        }
      }
    }
  }
  depends_on = [
    google_secret_manager_secret_version.api_keys,
    google_secret_manager_secret_iam_member.publisher_reads_keys,
    google_pubsub_topic_iam_member.publisher_publishes,
    google_bigquery_table_iam_member.publisher_reads_schemas,
    google_bigquery_table_iam_member.publisher_reads_erasures,
    google_project_iam_member.publisher_runs_jobs,
  ]
  lifecycle {
    # CD rolls images and names revisions (gcloud run deploy): an apply must not undo either.
    ignore_changes = [template[0].containers[0].image, template[0].revision, client, client_version]
  }
}

resource "google_cloud_run_v2_service" "worker" {
  name     = "eventpipe-worker-${local.suffix}"
  # A first apply that failed (IAM still propagating) is retried by applying again, which
  # replaces the failed service: the provider's default protection would refuse.
  deletion_protection = false
  location = var.region
  # Pulls from Pub/Sub: no request traffic, so CPU stays allocated and one instance stays up.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  labels  = local.labels
  template {
    service_account = google_service_account.worker.email
    scaling {
      min_instance_count = 1
      max_instance_count = 10
    }
    containers {
      image = "${local.registry}/subscriber-worker:${var.image_tag}"
      ports {
        container_port = 8082
      }
      resources {
        cpu_idle = false
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project
      }
      env {
        name  = "SCHEMA_URI_BASE"
        value = local.query_url
      }
      env {
        name  = "PUBSUB_SUBSCRIPTION"
        value = google_pubsub_subscription.worker.name
      }
      env {
        name  = "PUBSUB_DLQ_TOPIC"
        value = google_pubsub_topic.dead_letter.name
      }
      env {
        name  = "STORE"
        value = "bigquery"
      }
      env {
        name  = "BIGQUERY_DATASET"
        value = google_bigquery_dataset.events.dataset_id
      }
      env {
        name  = "BIGQUERY_TABLE"
        value = google_bigquery_table.events.table_id
      }
      env {
        name  = "BIGQUERY_LOCATION"
        value = var.region
      }
      # V8 heap cap for a worker container (docs/PERFORMANCE.md, worker-memory).
      env {
        name  = "NODE_OPTIONS"
        value = "--max-old-space-size=160"
      }
      # retention_days, when set: the retention the service applies (docs/DEPLOY.md).
      dynamic "env" {
        for_each = var.retention_days == null ? [] : [var.retention_days]
        content {
          name  = "RETENTION_DAYS"
          value = tostring(env.value)
        }
      }
      startup_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
  }
  depends_on = [
    google_pubsub_subscription_iam_member.worker_subscribes,
    google_pubsub_topic_iam_member.worker_dead_letters,
    google_bigquery_table_iam_member.worker_writes,
    google_bigquery_table_iam_member.worker_reads_schemas,
    google_bigquery_table_iam_member.worker_appends_erasures,
    google_project_iam_member.worker_runs_jobs,
  ]
  lifecycle {
    # CD rolls images and names revisions (gcloud run deploy): an apply must not undo either.
    ignore_changes = [template[0].containers[0].image, template[0].revision, client, client_version]
  }
}

resource "google_cloud_run_v2_service" "query" {
  name     = "eventpipe-query-${local.suffix}"
  # A first apply that failed (IAM still propagating) is retried by applying again, which
  # replaces the failed service: the provider's default protection would refuse.
  deletion_protection = false
  location = var.region
  ingress  = "INGRESS_TRAFFIC_ALL"
  labels   = local.labels
  template {
    service_account = google_service_account.query.email
    # Cloud Run cuts a response at the request timeout (300 s by default): the hour it allows
    # lets a streamed export of GET /v1/events run long; a longer one is cut and the client
    # resumes after its last complete row.
    timeout = "3600s"
    scaling {
      min_instance_count = 0
      max_instance_count = 20
    }
    containers {
      image = "${local.registry}/query-api:${var.image_tag}"
      ports {
        container_port = 8081
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project
      }
      env {
        name  = "STORE"
        value = "bigquery"
      }
      env {
        name  = "BIGQUERY_DATASET"
        value = google_bigquery_dataset.events.dataset_id
      }
      env {
        name  = "BIGQUERY_TABLE"
        value = google_bigquery_table.events.table_id
      }
      env {
        name  = "BIGQUERY_LOCATION"
        value = var.region
      }
      env {
        name  = "API_KEYS_FILE"
        value = "/secrets/api-keys/keys.json"
      }
      # Cloud Run's front end is one proxy hop: the client address is the last X-Forwarded-For entry.
      env {
        name  = "TRUST_PROXY"
        value = "1"
      }
      env {
        name  = "SCHEMA_URI_BASE"
        value = local.query_url
      }
      env {
        name = "CURSOR_SECRET"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.cursor_secret.secret_id
            version = "latest"
          }
        }
      }
      # retention_days, when set: the retention the service applies (docs/DEPLOY.md).
      dynamic "env" {
        for_each = var.retention_days == null ? [] : [var.retention_days]
        content {
          name  = "RETENTION_DAYS"
          value = tostring(env.value)
        }
      }
      volume_mounts {
        name       = "api-keys"
        mount_path = "/secrets/api-keys"
      }
      startup_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
    volumes {
      name = "api-keys"
      secret {
        secret = google_secret_manager_secret.api_keys.secret_id
        items {
          version = "latest"
          path    = "keys.json"
        }
      }
    }
  }
  depends_on = [
    google_secret_manager_secret_version.api_keys,
    google_secret_manager_secret_version.cursor_secret,
    google_secret_manager_secret_iam_member.query_reads_keys,
    google_secret_manager_secret_iam_member.query_reads_cursor_secret,
    google_bigquery_dataset_iam_member.query_reads,
    google_bigquery_table_iam_member.query_registers_schemas,
    google_bigquery_dataset_iam_member.query_writes_views,
    google_bigquery_table_iam_member.query_appends_erasures,
    google_project_iam_member.query_runs_jobs,
  ]
  lifecycle {
    # CD rolls images and names revisions (gcloud run deploy): an apply must not undo either.
    ignore_changes = [template[0].containers[0].image, template[0].revision, client, client_version]
  }
}

# Public APIs (each request still needs an API key); the worker is not invokable.
resource "google_cloud_run_v2_service_iam_member" "publisher_public" {
  name     = google_cloud_run_v2_service.publisher.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "query_public" {
  name     = google_cloud_run_v2_service.query.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}
