# The job's pipeline options, one variable per option: variable some_name is --someName. null leaves the option
# to the job's own default (see README.md, "Options reference"). TerraformOptionsTest checks both ways: every
# variable here is a real option of the job, reaches its arguments and has a default that parses; and every option
# of `run` is either a variable here or in this list of the ones left out, with why:
#
# Left out:
#   --passwordFile: the module sets it to the mounted Kubernetes secret; the password is never a job argument
#   --reportFile: a file on the JobManager's pod; the Flink UI, the job's metrics and the tables are the record
#   --verbose: a progress line for a terminal; the Flink UI shows the job's progress
#   --profile: a profile file's settings are these variables; set them here
#   --samplePercent: embeds a sample of the rows, for an experiment rather than a deployment
#   --canaryModel, --canaryPercent, --canaryPooling, --canaryNormalize, --canaryMaxLength, --canaryMinOverlap,
#   --canaryMaxDrift, --canaryMaxFailureRate, --canaryMinRows, --force: a canary is its own run, report and
#     promotion (README, "Canary rollout"), made with the command line or the queue, not a standing deployment
#
# The password is not among them: it comes from a Kubernetes secret, mounted as a file (--passwordFile), never a
# job argument (see postgres.tf).

variable "jdbc_url" {
  description = "--jdbcUrl: JDBC URL of an existing PostgreSQL with pgvector (for example a managed instance), without a password. null: the module runs PostgreSQL with pgvector in the namespace."
  type        = string
  default     = null
  validation {
    condition     = var.jdbc_url == null || can(regex("^jdbc:postgresql://", var.jdbc_url))
    error_message = "jdbc_url must start with jdbc:postgresql:// (and carry no password)."
  }
}

variable "username" {
  description = "--username: the database user the job connects as."
  type        = string
  default     = "embedder"
}

variable "source_table" {
  description = "--sourceTable: the table whose text is embedded, optionally schema.table."
  type        = string
}

variable "id_column" {
  description = "--idColumn: the source's id column (bigint, integer, uuid or text)."
  type        = string
  default     = "id"
}

variable "text_column" {
  description = "--textColumn: the source's text column."
  type        = string
  default     = "content"
}

variable "target_table" {
  description = "--targetTable: where vectors are upserted; null means <source_table>_embeddings."
  type        = string
  default     = null
}

variable "embedding_column" {
  description = "--embeddingColumn: the target's vector column, real[] or pgvector's vector(384) / halfvec(384)."
  type        = string
  default     = "embedding"
}

variable "vector_type" {
  description = "--vectorType: the vector column's type when the job creates the target: real[], vector or halfvec (pgvector, which this module's PostgreSQL has). null: an existing target's type, real[] for a new one (set \"vector\" for a new deployment)."
  type        = string
  default     = null
}

variable "chunking" {
  description = "--chunking: none (one vector per row, texts truncated at the model's limit) or tokens (token-exact chunks with overlap, one vector each, in <source_table>_chunks unless target_table)."
  type        = string
  default     = "none"
}

variable "change_capture" {
  description = "--changeCapture: scan (every run or poll reads the whole source) or trigger (a change log kept by triggers on the source; installed by the job when its role owns the table, else by a DBA with capture-sql)."
  type        = string
  default     = "scan"
}

variable "chunk_tokens" {
  description = "--chunkTokens: with chunking = \"tokens\", tokens per chunk, special tokens included; 0: the model's maximum length."
  type        = number
  default     = 0
}

variable "chunk_overlap" {
  description = "--chunkOverlap: with chunking = \"tokens\", tokens shared by consecutive chunks; -1: about 10% of chunk_tokens."
  type        = number
  default     = -1
}

variable "hnsw_index" {
  description = "--hnswIndex: after a complete batch run, build an HNSW cosine index on a pgvector target that has none (search then answers through it)."
  type        = bool
  default     = false
}

variable "failures_table" {
  description = "--failuresTable: where failed and skipped rows are recorded."
  type        = string
  default     = "embedding_failures"
}

variable "model" {
  description = "--model: a model directory inside the image; null means the bundled all-MiniLM-L6-v2."
  type        = string
  default     = null
}

variable "device" {
  description = "--device: cpu, cuda, cuda:N or auto. The TaskManagers request GPUs when this is not cpu."
  type        = string
  default     = "cuda"
  validation {
    condition     = can(regex("^(cpu|cuda|cuda:[0-9]+|auto)$", var.device))
    error_message = "device must be cpu, cuda, cuda:N or auto."
  }
}

variable "workers" {
  description = "--workers: concurrent forward passes per TaskManager JVM, sharing its one model."
  type        = number
  default     = 10
}

variable "batch_size" {
  description = "--batchSize: texts per forward pass."
  type        = number
  default     = 16
}

variable "max_batch_tokens" {
  description = "--maxBatchTokens: token slots (rows x padded length) per forward pass."
  type        = number
  default     = 65536
}

variable "write_batch_size" {
  description = "--writeBatchSize: rows per write (a COPY and its upsert, or a JDBC batch)."
  type        = number
  default     = 500
}

variable "max_in_flight_rows" {
  description = "--maxInFlightRows: in continuous mode, at most this many pending rows per poll (Flink's backpressure bounds batch runs)."
  type        = number
  default     = 10000
}

variable "max_attempts" {
  description = "--maxAttempts: a row that failed this many times is not retried until its text changes."
  type        = number
  default     = 3
}

variable "max_pool_size" {
  description = "--maxPoolSize: connections each TaskManager JVM opens at most to the database (one pool per JVM, shared by its slots); size it so that replicas x this stays under the server's max_connections."
  type        = number
  default     = 10
}

variable "prune_deleted" {
  description = "--pruneDeleted: remove the vectors and failure records of rows gone from the source, at each run's start and every prune_interval in continuous mode."
  type        = bool
  default     = true
}

variable "prune_interval" {
  description = "--pruneInterval: with continuous = true and prune_deleted, how often deleted rows are looked for (30s, 1m, 10m)."
  type        = string
  default     = "1m"
}

variable "parallelism" {
  description = "--parallelism: Flink subtasks per step; null means TaskManager replicas x slots."
  type        = number
  default     = null
}

variable "number_of_execution_retries" {
  description = "--numberOfExecutionRetries: restarts after a failure (fixed delay); 0 turns restarts off."
  type        = number
  default     = 3
}

variable "execution_retry_delay" {
  description = "--executionRetryDelay: ms between restarts."
  type        = number
  default     = 10000
}

variable "continuous" {
  description = "--continuous: keep running and embed new and changed rows as they appear (a streaming job)."
  type        = bool
  default     = false
}

variable "poll_interval" {
  description = "--pollInterval: with continuous, how often pending rows are read (500ms, 5s, 2m)."
  type        = string
  default     = "5s"
}

variable "checkpointing_interval" {
  description = "--checkpointingInterval: ms between checkpoints of a continuous job."
  type        = number
  default     = 60000
}

variable "source_query" {
  description = "--sourceQuery: SQL returning the id and text columns, read in read-only transactions, instead of the whole source table. null: the table."
  type        = string
  default     = null
}

variable "text_search_index" {
  description = "--textSearchIndex: create the expression GIN index that hybrid search (search --mode=hybrid, serve's /search) needs, when missing."
  type        = bool
  default     = false
}

variable "text_search_config" {
  description = "--textSearchConfig: the PostgreSQL text search configuration of that index and of hybrid queries."
  type        = string
  default     = "english"
}

variable "pooling" {
  description = "--pooling: mean or cls. null: the model's own."
  type        = string
  default     = null
}

variable "normalize" {
  description = "--normalize: L2-normalize the vectors. null: the model's own."
  type        = bool
  default     = null
}

variable "max_length" {
  description = "--maxLength: tokens per text (the rest is truncated, or chunked with chunking = \"tokens\"). null: the model's own."
  type        = number
  default     = null
}

variable "intra_op_threads" {
  description = "--intraOpThreads: libtorch threads per forward pass. null: the TaskManager's cores divided by workers."
  type        = number
  default     = null
}

variable "inter_op_threads" {
  description = "--interOpThreads: libtorch inter-op threads. null: 1."
  type        = number
  default     = null
}

variable "write_method" {
  description = "--writeMethod: auto (binary COPY for a target of one vector per row where the role may create temporary tables, else statements), copy or statements."
  type        = string
  default     = "auto"
}

variable "batch_mode" {
  description = "--batchMode: count (batch_size rows per group) or tokens (a budget of max_batch_tokens)."
  type        = string
  default     = "count"
}

variable "max_buffering_ms" {
  description = "--maxBufferingMs: longest wait for a group to fill, in ms (lower it in continuous mode for latency)."
  type        = number
  default     = 2000
}

variable "length_buckets" {
  description = "--lengthBuckets: group rows of similar token length together (less padding)."
  type        = bool
  default     = true
}

variable "read_partitions" {
  description = "--readPartitions: parallel reads of numeric ids. 0: 2 x workers."
  type        = number
  default     = 0
}

variable "timeout" {
  description = "--timeout: a batch run's time limit in ms (what reaches the model after it stays pending; status partial). 0: none."
  type        = number
  default     = 0
}
