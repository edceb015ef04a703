# PostgreSQL with pgvector for the job: in the namespace when jdbc_url is null, else the given (managed) instance,
# whose password the caller keeps in the Kubernetes secret password_secret_name (key: password).

resource "random_password" "postgres" {
  count   = var.jdbc_url == null ? 1 : 0
  length  = 32
  special = false
}

resource "kubernetes_secret" "postgres" {
  count = var.jdbc_url == null ? 1 : 0
  metadata {
    name      = "${var.name}-postgres"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  data = {
    password = random_password.postgres[0].result
  }
}

resource "kubernetes_config_map" "postgres_init" {
  count = var.jdbc_url == null ? 1 : 0
  metadata {
    name      = "${var.name}-postgres-init"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  data = {
    "10-pgvector.sql" = "CREATE EXTENSION IF NOT EXISTS vector;"
  }
}

resource "kubernetes_stateful_set" "postgres" {
  count = var.jdbc_url == null ? 1 : 0
  metadata {
    name      = "${var.name}-postgres"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  spec {
    service_name = "${var.name}-postgres"
    replicas     = 1
    selector {
      match_labels = { app = "${var.name}-postgres" }
    }
    template {
      metadata {
        labels = { app = "${var.name}-postgres" }
      }
      spec {
        container {
          name  = "postgres"
          image = var.postgres_image
          port {
            container_port = 5432
          }
          env {
            name  = "POSTGRES_USER"
            value = var.username
          }
          env {
            name  = "POSTGRES_DB"
            value = var.postgres_database
          }
          env {
            name = "POSTGRES_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret.postgres[0].metadata[0].name
                key  = "password"
              }
            }
          }
          env {
            name  = "PGDATA"
            value = "/var/lib/postgresql/data/pgdata"
          }
          readiness_probe {
            exec {
              command = ["pg_isready", "-U", var.username, "-d", var.postgres_database]
            }
            period_seconds = 5
          }
          volume_mount {
            name       = "data"
            mount_path = "/var/lib/postgresql/data"
          }
          volume_mount {
            name       = "init"
            mount_path = "/docker-entrypoint-initdb.d"
          }
        }
        volume {
          name = "init"
          config_map {
            name = kubernetes_config_map.postgres_init[0].metadata[0].name
          }
        }
      }
    }
    volume_claim_template {
      metadata {
        name = "data"
      }
      spec {
        access_modes = ["ReadWriteOnce"]
        resources {
          requests = { storage = var.postgres_storage }
        }
      }
    }
  }
}

resource "kubernetes_service" "postgres" {
  count = var.jdbc_url == null ? 1 : 0
  metadata {
    name      = "${var.name}-postgres"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  spec {
    selector = { app = "${var.name}-postgres" }
    port {
      port        = 5432
      target_port = 5432
    }
  }
}
