# A managed PostgreSQL (Amazon RDS for PostgreSQL 16, which ships pgvector) embedded by one GPU TaskManager that
# keeps running (continuous mode). The password is in a Kubernetes secret created out of band (for example by
# External Secrets from AWS Secrets Manager), so it is never in Terraform state or a job argument:
#
#   terraform apply -target=module.embeddings.kubernetes_namespace.this
#   kubectl -n pg-embeddings create secret generic app-db-password --from-file=password=./password
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

variable "rds_endpoint" {
  description = "host:port of the RDS instance."
  type        = string
}

module "embeddings" {
  source = "../.."

  image                  = "registry.example.com/pg-embeddings:0.1.0-cuda"
  install_flink_operator = false # the cluster runs one already
  taskmanager_replicas   = 1
  task_slots             = 1
  gpus_per_taskmanager   = 1
  password_secret_name   = "app-db-password"

  jdbc_url               = "jdbc:postgresql://${var.rds_endpoint}/app?sslmode=require"
  username               = "embedder"
  source_table           = "support.tickets"
  id_column              = "ticket_id"
  text_column            = "description"
  target_table           = "support.ticket_vectors"
  device                 = "cuda"
  workers                = 4
  batch_size             = 32
  continuous             = true
  poll_interval          = "30s"
  checkpointing_interval = 60000
}
