# Where and how the job runs. The job's own options are in job_options.tf.

variable "namespace" {
  description = "Kubernetes namespace for the job (and the in-cluster PostgreSQL); created by the module."
  type        = string
  default     = "pg-embeddings"
}

variable "name" {
  description = "Name of the FlinkDeployment and prefix of the other resources."
  type        = string
  default     = "pg-embeddings"
}

variable "install_flink_operator" {
  description = "Install the Flink Kubernetes Operator (Helm). false when the cluster already runs one."
  type        = bool
  default     = true
}

variable "flink_operator_version" {
  description = "Version of the Flink Kubernetes Operator Helm chart."
  type        = string
  default     = "1.10.0"
}

variable "image" {
  description = "Container image with Java 17 and the bundled jar built for CUDA (mvn -Pcuda package) at /opt/pg-embeddings/pg-embeddings-bundled.jar, on a flink:1.19-java17 base."
  type        = string
}

variable "jar_path" {
  description = "Path of the bundled jar inside the image."
  type        = string
  default     = "/opt/pg-embeddings/pg-embeddings-bundled.jar"
}

variable "taskmanager_replicas" {
  description = "TaskManager pods; each holds one model for all of its slots."
  type        = number
  default     = 2
}

variable "task_slots" {
  description = "Slots per TaskManager."
  type        = number
  default     = 2
}

variable "gpus_per_taskmanager" {
  description = "nvidia.com/gpu requested by each TaskManager pod when device is not cpu."
  type        = number
  default     = 1
}

variable "taskmanager_memory" {
  description = "Flink process memory of a TaskManager (the pod's memory request and limit)."
  type        = string
  default     = "16g"
}

variable "taskmanager_cpu" {
  description = "CPU cores of a TaskManager pod."
  type        = number
  default     = 8
}

variable "jobmanager_memory" {
  description = "Flink process memory of the JobManager: the job's main() runs there and loads the model once to check the target table."
  type        = string
  default     = "4g"
}

variable "gpu_node_selector" {
  description = "Node labels that select GPU nodes for the TaskManagers."
  type        = map(string)
  default     = { "nvidia.com/gpu.present" = "true" }
}

variable "gpu_tolerations" {
  description = "Tolerations for tainted GPU nodes."
  type = list(object({
    key      = string
    operator = string
    value    = optional(string)
    effect   = string
  }))
  default = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
}

variable "password_secret_name" {
  description = "Existing Kubernetes secret (key: password) with the database password, for jdbc_url. null with the in-cluster PostgreSQL: the module generates one."
  type        = string
  default     = null
}

variable "postgres_image" {
  description = "Image of the in-cluster PostgreSQL (pgvector preinstalled)."
  type        = string
  default     = "pgvector/pgvector:pg16"
}

variable "postgres_storage" {
  description = "Volume size of the in-cluster PostgreSQL."
  type        = string
  default     = "50Gi"
}

variable "postgres_database" {
  description = "Database of the in-cluster PostgreSQL."
  type        = string
  default     = "app"
}
