variable "project" {
  description = "Google Cloud project id"
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Artifact Registry and the BigQuery dataset location"
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Deployment name (staging, production): suffixes every resource"
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment: lower-case letters, digits and dashes, 2 to 21 characters."
  }
}

variable "image_tag" {
  description = "Image tag the Cloud Run services start with (CD deploys new tags with gcloud run deploy)"
  type        = string
  default     = "latest"
}

variable "max_delivery_attempts" {
  description = "Dead-letter policy of the worker subscription (docs/RELIABILITY.md)"
  type        = number
  default     = 5
}
