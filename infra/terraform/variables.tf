variable "project" {
  description = "Google Cloud project id"
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, the Artifact Registry repository and the BigQuery dataset location"
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Deployment name (staging, production): suffixes every resource"
  type        = string
  # The longest name made of it is the service account id ep-publisher-<environment>, which
  # Google allows 6 to 30 characters, ending in a letter or digit: 17 characters at most here.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}[a-z0-9]$", var.environment))
    error_message = "environment: 2 to 17 characters, lower-case letters, digits and dashes, starting with a letter and ending with a letter or digit."
  }
}

variable "registry" {
  description = "Artifact Registry repository (in var.region) the images are pulled from, created by infra/terraform/shared"
  type        = string
  default     = "eventpipe"
}

variable "image_tag" {
  description = "Image tag the Cloud Run services are created with: the commit sha pushed first (docs/DEPLOY.md). Later images are rolled by CD; Terraform ignores the image once a service exists"
  type        = string
  # No default: a tag nobody pushed (such as latest) would leave the first apply waiting on
  # services that never start.
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag: a pushed tag (the commit sha), not latest."
  }
}

variable "api_keys_json" {
  description = "First version of the API keys secret: the API_KEYS JSON array of names, scopes and sha256 hashes (npm run keys -- create; never the keys). Include the smoke-test key (events:write and events:read)"
  type        = string
  sensitive   = true
  validation {
    condition     = can(jsondecode(var.api_keys_json)[0].sha256)
    error_message = "api_keys_json: a JSON array of key entries, the first with its sha256."
  }
}

variable "max_delivery_attempts" {
  description = "Dead-letter policy of the worker subscription (docs/RELIABILITY.md)"
  type        = number
  default     = 5
}

variable "retention_days" {
  description = "Days events are kept, by their time: each day partition of the events table is dropped once its date is older than this (docs/DEPLOY.md). null keeps events forever"
  type        = number
  default     = null
  validation {
    condition     = var.retention_days == null ? true : (var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days)
    error_message = "retention_days: null (keep forever) or a whole number of days from 1 to 3650."
  }
}

variable "kms_key_name" {
  description = "Cloud KMS key (projects/…/locations/…/keyRings/…/cryptoKeys/…) that encrypts the topics and the BigQuery dataset and tables (CMEK, docs/SECURITY.md). In the dataset's location (var.region). null: Google-managed encryption. Chosen at the first apply: the tables cannot take a key later without being recreated"
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_name == null ? true : can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name: null, or projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY."
  }
}
