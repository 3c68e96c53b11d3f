# One service account per service, each allowed only what it does (docs/DEPLOY.md).

resource "google_service_account" "publisher" {
  account_id   = "ep-publisher-${local.suffix}"
  display_name = "eventpipe publisher API (${var.environment})"
}

resource "google_service_account" "worker" {
  account_id   = "ep-worker-${local.suffix}"
  display_name = "eventpipe subscriber worker (${var.environment})"
}

resource "google_service_account" "query" {
  account_id   = "ep-query-${local.suffix}"
  display_name = "eventpipe query API (${var.environment})"
}

# publisher: publish on the events topic, nothing else.
resource "google_pubsub_topic_iam_member" "publisher_publishes" {
  topic  = google_pubsub_topic.events.name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.publisher.email}"
}

# publisher: reads the schema registry to check data at the edge (a query job on the schemas
# table).
resource "google_bigquery_table_iam_member" "publisher_reads_schemas" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.schemas.table_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.publisher.email}"
}

resource "google_project_iam_member" "publisher_runs_jobs" {
  project = var.project
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.publisher.email}"
}

# worker: pull its subscription, publish poison to the dead-letter topic, read and write the table
# (start-up describes it: tables.get; insertAll: tables.updateData; the conflicting-duplicate
# lookup reads it: tables.getData) and run that lookup as a query job (jobs.create, project-wide:
# BigQuery has no narrower scope for it). The dataset itself is never asked for.
resource "google_pubsub_subscription_iam_member" "worker_subscribes" {
  subscription = google_pubsub_subscription.worker.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_pubsub_topic_iam_member" "worker_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_bigquery_table_iam_member" "worker_writes" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.events.table_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_bigquery_table_iam_member" "worker_reads_schemas" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.schemas.table_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_project_iam_member" "worker_runs_jobs" {
  project = var.project
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.worker.email}"
}

# query API: read the dataset and run query jobs.
resource "google_bigquery_dataset_iam_member" "query_reads" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.query.email}"
}

# ... registers schema versions (rows of the schemas table) and creates or replaces the typed
# views. Creating a table (a view is one) needs bigquery.tables.create on the dataset: a custom
# role holds only that and what replacing a view needs, not dataEditor's data rights.
resource "google_bigquery_table_iam_member" "query_registers_schemas" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.schemas.table_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.query.email}"
}

resource "google_project_iam_custom_role" "view_writer" {
  role_id     = "eventpipeViewWriter_${replace(local.suffix, "-", "_")}"
  title       = "eventpipe typed views (${var.environment})"
  description = "Create and replace the typed views of the schema registry (docs/SCHEMAS.md)"
  permissions = ["bigquery.tables.create", "bigquery.tables.get", "bigquery.tables.update"]
}

resource "google_bigquery_dataset_iam_member" "query_writes_views" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  role       = google_project_iam_custom_role.view_writer.name
  member     = "serviceAccount:${google_service_account.query.email}"
}

resource "google_project_iam_member" "query_runs_jobs" {
  project = var.project
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.query.email}"
}

# The two APIs read the API keys secret; the query API also the cursor secret.
resource "google_secret_manager_secret_iam_member" "publisher_reads_keys" {
  secret_id = google_secret_manager_secret.api_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.publisher.email}"
}

resource "google_secret_manager_secret_iam_member" "query_reads_keys" {
  secret_id = google_secret_manager_secret.api_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.query.email}"
}

resource "google_secret_manager_secret_iam_member" "query_reads_cursor_secret" {
  secret_id = google_secret_manager_secret.cursor_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.query.email}"
}

# Pub/Sub's own service agent moves messages to the dead-letter topic: it must publish there and
# acknowledge on the worker subscription.
locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic_iam_member" "agent_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "agent_acks" {
  subscription = google_pubsub_subscription.worker.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
