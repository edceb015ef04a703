output "namespace" {
  description = "Namespace of the job."
  value       = kubernetes_namespace.this.metadata[0].name
}

output "flink_deployment" {
  description = "Name of the FlinkDeployment (kubectl -n NAMESPACE get flinkdeployment NAME)."
  value       = var.name
}

output "flink_rest_service" {
  description = "The JobManager's REST service (kubectl port-forward svc/NAME-rest 8081), where the Flink UI and job state are."
  value       = "${var.name}-rest.${var.namespace}.svc:8081"
}

output "jdbc_url" {
  description = "The database the job embeds (no password in it)."
  value       = local.job_options.jdbcUrl
}

output "password_secret" {
  description = "Kubernetes secret holding the database password (key: password)."
  value       = local.password_secret
}

output "job_args" {
  description = "The job's arguments, as the FlinkDeployment passes them (no password among them)."
  value       = local.job_args
}
