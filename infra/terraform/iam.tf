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

# ... and the erasures table: the subjects whose new events it drops (suppress).
resource "google_bigquery_table_iam_member" "publisher_reads_erasures" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.erasures.table_id
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
# lookup reads it: tables.getData; an erasure's DELETE DML: both) and run that lookup and those
# deletes as query jobs (jobs.create, project-wide: BigQuery has no narrower scope for it). The
# dataset itself is never asked for.
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

# ... reads the erasures log and appends each erasure's progress, done or failed step.
resource "google_bigquery_table_iam_member" "worker_appends_erasures" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.erasures.table_id
  role       = google_project_iam_custom_role.erasure_writer.name
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

# ... appends erasure requests and lifts (insertAll) to the erasures log, which it reads through
# query_reads.
resource "google_bigquery_table_iam_member" "query_appends_erasures" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.erasures.table_id
  role       = google_project_iam_custom_role.erasure_writer.name
  member     = "serviceAccount:${google_service_account.query.email}"
}

# The erasures log is the audit trail of erasures: who may append to it gets only reading and
# writing rows, not dataEditor's rights to change or delete the table.
resource "google_project_iam_custom_role" "erasure_writer" {
  role_id     = "eventpipeErasureWriter_${replace(local.suffix, "-", "_")}"
  title       = "eventpipe erasures log (${var.environment})"
  description = "Read and append the steps of erasures (docs/DEPLOY.md)"
  permissions = ["bigquery.tables.get", "bigquery.tables.getData", "bigquery.tables.updateData"]
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

# ---- Customer-managed encryption key (var.kms_key_name, docs/SECURITY.md) -----------------------
# Google's service agents encrypt and decrypt for BigQuery and Pub/Sub: they, not eventpipe's
# service accounts, use the key. The dataset, tables and topics wait for these grants.
data "google_bigquery_default_service_account" "this" {
  count = var.kms_key_name == null ? 0 : 1
}

resource "google_kms_crypto_key_iam_member" "bigquery_uses_key" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_bigquery_default_service_account.this[0].email}"
}

resource "google_kms_crypto_key_iam_member" "pubsub_agent_uses_key" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = local.pubsub_agent
}
