# Two GPU TaskManagers embedding public.documents of a PostgreSQL (pgvector) that the module runs in the namespace.
#
#   terraform init
#   terraform apply -target=module.embeddings.helm_release.flink_operator   # the FlinkDeployment CRD first
#   terraform apply

terraform {
  required_providers {
    kubernetes = { source = "hashicorp/kubernetes" }
    helm       = { source = "hashicorp/helm" }
  }
}

provider "kubernetes" {
  config_path = "~/.kube/config"
}

provider "helm" {
  kubernetes {
    config_path = "~/.kube/config"
  }
}

module "embeddings" {
  source = "../.."

  image                = "registry.example.com/pg-embeddings:0.1.0-cuda"
  taskmanager_replicas = 2
  task_slots           = 2
  gpus_per_taskmanager = 1

  # The job's options (job_options.tf): the cuda-24gb profile's settings.
  source_table     = "public.documents"
  text_column      = "body"
  embedding_column = "embedding"
  vector_type      = "vector" # a new target as pgvector's vector(384), with an HNSW index after the first run
  hnsw_index       = true
  device           = "cuda"
  workers          = 10
  batch_size       = 16
  max_batch_tokens = 65536
}

output "flink_rest_service" {
  value = module.embeddings.flink_rest_service
}
