# The project-wide part, applied once before any environment (docs/DEPLOY.md, step 3): the one
# Artifact Registry repository every environment pulls from. CD builds an image once, pushes it
# here as :<commit sha>, and promotes that same image from staging to production. Its own state
# lives under the prefix eventpipe/shared of the state bucket.
terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
  backend "gcs" {
    prefix = "eventpipe/shared"
  }
}

variable "project" {
  description = "Google Cloud project id"
  type        = string
}

variable "region" {
  description = "Region of the Artifact Registry repository (the environments' region)"
  type        = string
  default     = "europe-west1"
}

variable "repository" {
  description = "Artifact Registry repository id; each environment's variable registry names it"
  type        = string
  default     = "eventpipe"
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_artifact_registry_repository" "images" {
  repository_id = var.repository
  location      = var.region
  format        = "DOCKER"
  description   = "eventpipe service images, tagged with the commit sha (pushed by .github/workflows/cd.yml)"
  labels        = { app = "eventpipe" }
}

output "registry" {
  description = "Where images are pushed: REGISTRY in docs/DEPLOY.md and cd.yml"
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}
