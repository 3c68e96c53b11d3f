terraform {
  required_version = ">= 1.6"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
  # One state per environment, in a GCS bucket: the prefix comes from backends/<environment>.gcs.tfbackend
  # and the bucket from -backend-config="bucket=…" (docs/DEPLOY.md). Never a local state.
  backend "gcs" {}
}

provider "google" {
  project = var.project
  region  = var.region
}
