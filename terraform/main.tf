# pg-embeddings on Kubernetes: the Flink Kubernetes Operator runs the job as a FlinkDeployment (application mode)
# whose TaskManagers request GPUs; the database is PostgreSQL with pgvector, in the namespace (postgres.tf) or
# managed (jdbc_url). The database password lives in a Kubernetes secret, mounted as a file and read by the job
# through --passwordFile: it is never a job argument, so it is not in the Flink UI or a process list.

locals {
  use_gpu         = var.device != "cpu"
  password_secret = var.jdbc_url == null ? kubernetes_secret.postgres[0].metadata[0].name : var.password_secret_name
  in_cluster_url  = "jdbc:postgresql://${var.name}-postgres.${var.namespace}.svc:5432/${var.postgres_database}"
  password_dir    = "/run/secrets/pg-embeddings"

  # The job's options, one per variable of job_options.tf (TerraformOptionsTest keeps the two in step).
  # null values are left out, so the job's own defaults apply.
  job_options = {
    jdbcUrl                  = var.jdbc_url != null ? var.jdbc_url : local.in_cluster_url
    username                 = var.username
    sourceTable              = var.source_table
    idColumn                 = var.id_column
    textColumn               = var.text_column
    targetTable              = var.target_table
    embeddingColumn          = var.embedding_column
    vectorType               = var.vector_type
    chunking                 = var.chunking
    changeCapture            = var.change_capture
    chunkTokens              = var.chunk_tokens
    chunkOverlap             = var.chunk_overlap
    hnswIndex                = var.hnsw_index
    failuresTable            = var.failures_table
    model                    = var.model
    device                   = var.device
    workers                  = var.workers
    batchSize                = var.batch_size
    maxBatchTokens           = var.max_batch_tokens
    writeBatchSize           = var.write_batch_size
    maxInFlightRows          = var.max_in_flight_rows
    maxAttempts              = var.max_attempts
    maxPoolSize              = var.max_pool_size
    pruneDeleted             = var.prune_deleted
    pruneInterval            = var.prune_interval
    parallelism              = var.parallelism != null ? var.parallelism : var.taskmanager_replicas * var.task_slots
    numberOfExecutionRetries = var.number_of_execution_retries
    executionRetryDelay      = var.execution_retry_delay
    continuous               = var.continuous
    pollInterval             = var.poll_interval
    checkpointingInterval    = var.checkpointing_interval
    sourceQuery              = var.source_query
    textSearchIndex          = var.text_search_index
    textSearchConfig         = var.text_search_config
    pooling                  = var.pooling
    normalize                = var.normalize
    maxLength                = var.max_length
    intraOpThreads           = var.intra_op_threads
    interOpThreads           = var.inter_op_threads
    writeMethod              = var.write_method
    batchMode                = var.batch_mode
    maxBufferingMs           = var.max_buffering_ms
    lengthBuckets            = var.length_buckets
    readPartitions           = var.read_partitions
    timeout                  = var.timeout
  }
  job_args = concat(
    ["run", "--runner=FlinkRunner", "--passwordFile=${local.password_dir}/password"],
    [for k, v in local.job_options : "--${k}=${v}" if v != null],
  )
}

resource "kubernetes_namespace" "this" {
  metadata {
    name = var.namespace
  }
}

resource "helm_release" "flink_operator" {
  count            = var.install_flink_operator ? 1 : 0
  name             = "flink-kubernetes-operator"
  repository       = "https://downloads.apache.org/flink/flink-kubernetes-operator-${var.flink_operator_version}/"
  chart            = "flink-kubernetes-operator"
  version          = var.flink_operator_version
  namespace        = "flink-operator"
  create_namespace = true
  # The operator's admission webhook needs cert-manager; without it, turn the webhook off.
  set {
    name  = "webhook.create"
    value = "false"
  }
  set {
    name  = "watchNamespaces[0]"
    value = var.namespace
  }
}

resource "kubernetes_service_account" "flink" {
  metadata {
    name      = "${var.name}-flink"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
}

# The JobManager creates and deletes TaskManager pods and its own config maps.
resource "kubernetes_role" "flink" {
  metadata {
    name      = "${var.name}-flink"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  rule {
    api_groups = [""]
    resources  = ["pods", "configmaps", "services"]
    verbs      = ["*"]
  }
  rule {
    api_groups = ["apps"]
    resources  = ["deployments", "deployments/finalizers"]
    verbs      = ["*"]
  }
}

resource "kubernetes_role_binding" "flink" {
  metadata {
    name      = "${var.name}-flink"
    namespace = kubernetes_namespace.this.metadata[0].name
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role.flink.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account.flink.metadata[0].name
    namespace = kubernetes_namespace.this.metadata[0].name
  }
}

resource "kubernetes_manifest" "flink_deployment" {
  depends_on = [helm_release.flink_operator, kubernetes_role_binding.flink]

  manifest = {
    apiVersion = "flink.apache.org/v1beta1"
    kind       = "FlinkDeployment"
    metadata = {
      name      = var.name
      namespace = kubernetes_namespace.this.metadata[0].name
    }
    spec = {
      image          = var.image
      flinkVersion   = "v1_19"
      serviceAccount = kubernetes_service_account.flink.metadata[0].name
      flinkConfiguration = {
        "taskmanager.numberOfTaskSlots" = tostring(var.task_slots)
        # One classloader per job, but DJL's natives, JNA and pgjdbc load once per JVM from the image's lib/.
        "classloader.parent-first-patterns.additional" = "ai.djl.;com.sun.jna.;org.postgresql."
        "taskmanager.memory.task.off-heap.size"        = "1g"
        # libtorch allocates outside the JVM (malloc, CUDA host memory): leave it room within the pod.
        "taskmanager.memory.jvm-overhead.fraction" = "0.3"
        "taskmanager.memory.jvm-overhead.max"      = "8g"
        "cluster.evenly-spread-out-slots"          = "true"
        # The job sets its own restart strategy (number_of_execution_retries); this is the fallback.
        "restart-strategy.type"                 = var.number_of_execution_retries > 0 ? "fixed-delay" : "none"
        "restart-strategy.fixed-delay.attempts" = tostring(max(var.number_of_execution_retries, 1))
        "restart-strategy.fixed-delay.delay"    = "${var.execution_retry_delay} ms"
        "env.java.opts.all"                     = "-Dai.djl.offline=true"
      }
      jobManager = {
        resource = {
          memory = var.jobmanager_memory
          cpu    = 1
        }
      }
      podTemplate = {
        apiVersion = "v1"
        kind       = "Pod"
        spec = {
          containers = [{
            name = "flink-main-container"
            volumeMounts = [{
              name      = "db-password"
              mountPath = local.password_dir
              readOnly  = true
            }]
          }]
          volumes = [{
            name = "db-password"
            secret = {
              secretName  = local.password_secret
              defaultMode = 256 # 0400
              items       = [{ key = "password", path = "password" }]
            }
          }]
        }
      }
      taskManager = {
        replicas = var.taskmanager_replicas
        resource = {
          memory = var.taskmanager_memory
          cpu    = var.taskmanager_cpu
        }
        podTemplate = {
          apiVersion = "v1"
          kind       = "Pod"
          spec = {
            nodeSelector = local.use_gpu ? var.gpu_node_selector : {}
            tolerations  = local.use_gpu ? var.gpu_tolerations : []
            containers = [{
              name = "flink-main-container"
              resources = {
                limits = local.use_gpu ? { "nvidia.com/gpu" = tostring(var.gpus_per_taskmanager) } : {}
              }
            }]
          }
        }
      }
      job = {
        jarURI      = "local://${var.jar_path}"
        entryClass  = "io.pgembed.Main"
        args        = local.job_args
        parallelism = local.job_options.parallelism
        upgradeMode = "stateless"
        state       = "running"
      }
    }
  }
}
