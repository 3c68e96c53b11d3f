output "publisher_url" {
  value = google_cloud_run_v2_service.publisher.uri
}

output "query_url" {
  value = google_cloud_run_v2_service.query.uri
}

output "registry" {
  description = "Where CD pushes images"
  value       = local.registry
}
