package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/**
 * Options of the embedding pipeline: PostgreSQL source rows in, vectors upserted back.
 *
 * <p>Precedence: the command line, then the environment ({@code EMBEDDING_DEVICE}, {@code EMBEDDING_WORKERS},
 * {@code EMBEDDING_BATCH_SIZE}, {@code EMBEDDING_TIMEOUT_MS}), then {@code --profile}, then these defaults (see
 * {@link OptionSources}). The password is never an option: it comes from {@code PGPASSWORD},
 * {@code --passwordFile} or {@code ~/.pgpass}.
 */
public interface EmbeddingPipelineOptions extends ModelOptions {

  @Description("PostgreSQL JDBC URL, without the password: jdbc:postgresql://host:5432/db")
  String getJdbcUrl();

  void setJdbcUrl(String value);

  @Description("Database user.")
  String getUsername();

  void setUsername(String value);

  @Description("A file holding only the database password (else PGPASSWORD, else ~/.pgpass).")
  String getPasswordFile();

  void setPasswordFile(String value);

  @Description("The table whose text is embedded, optionally schema.table.")
  String getSourceTable();

  void setSourceTable(String value);

  @Description("The source's id column: bigint, integer, uuid or text.")
  @Default.String("id")
  String getIdColumn();

  void setIdColumn(String value);

  @Description("The source's text column.")
  @Default.String("content")
  String getTextColumn();

  void setTextColumn(String value);

  @Description(
      "Instead of --textColumn: a SELECT returning (id, text) columns named by --idColumn and --textColumn, e.g."
          + " \"SELECT id, title || ' ' || body AS content FROM posts\". --sourceTable still names the id's table.")
  String getSourceQuery();

  void setSourceQuery(String value);

  @Description("Where vectors are upserted. Default: <sourceTable>_embeddings.")
  String getTargetTable();

  void setTargetTable(String value);

  @Description("The vector column of the target: real[] (created by default) or pgvector's vector(d).")
  @Default.String("embedding")
  String getEmbeddingColumn();

  void setEmbeddingColumn(String value);

  @Description("Where failed and skipped rows are recorded.")
  @Default.String("embedding_failures")
  String getFailuresTable();

  void setFailuresTable(String value);

  @Description("Rows per JDBC batch write.")
  @Default.Integer(500)
  Integer getWriteBatchSize();

  void setWriteBatchSize(Integer value);

  @Description("Batch by count (count) or by a token budget of --maxBatchTokens per batch (tokens).")
  @Default.String("count")
  String getBatchMode();

  void setBatchMode(String value);

  @Description("Longest wait for a batch to fill, in ms.")
  @Default.Long(2000)
  Long getMaxBufferingMs();

  void setMaxBufferingMs(Long value);

  @Description("Group rows of similar length into the same batches (less padding).")
  @Default.Boolean(true)
  Boolean getLengthBuckets();

  void setLengthBuckets(Boolean value);

  @Description("Partitions for parallel reads of numeric ids; 0 chooses 2 x workers.")
  @Default.Integer(0)
  Integer getReadPartitions();

  void setReadPartitions(Integer value);

  @Description("Cancel the run after this many ms (0: never); what was written stays, the rest stays pending. Env: EMBEDDING_TIMEOUT_MS.")
  @Default.Long(0)
  Long getTimeout();

  void setTimeout(Long value);

  @Description("A row that failed this many times is no longer retried (until its text changes).")
  @Default.Integer(3)
  Integer getMaxAttempts();

  void setMaxAttempts(Integer value);

  @Description("Print a progress line every few seconds.")
  @Default.Boolean(false)
  Boolean getVerbose();

  void setVerbose(Boolean value);

  @Description("Also write the final report as JSON to this file.")
  String getReportFile();

  void setReportFile(String value);

  @Description("A preset of options: pipelines/NAME.properties, or a path to a .properties file.")
  String getProfile();

  void setProfile(String value);

  @Description(
      "Embed only a deterministic hash-chosen share of rows, in percent (1-100): those whose id's md5 mod 100 is"
          + " below it. 100: every row.")
  @Default.Integer(100)
  Integer getSamplePercent();

  void setSamplePercent(Integer value);

  @Description("Canary rollout: a candidate model that also embeds --canaryPercent of the rows into <target>_canary.")
  String getCanaryModel();

  void setCanaryModel(String value);

  @Description("Share of rows the candidate embeds, in percent. Env: EMBEDDING_TRAINING_CANARY_PERCENT.")
  @Default.Integer(10)
  Integer getCanaryPercent();

  void setCanaryPercent(Integer value);

  @Description("Keep running: poll for new and changed rows every --pollInterval and embed them as they appear.")
  @Default.Boolean(false)
  Boolean getContinuous();

  void setContinuous(Boolean value);

  @Description("With --continuous, how often pending rows are read: 500ms, 5s, 2m.")
  @Default.String("5s")
  String getPollInterval();

  void setPollInterval(String value);

  @Description(
      "Fault injection for testing recovery: a regular expression; a batch containing a matching text throws, as a"
          + " model failure would. Leave unset in production.")
  String getFailOnTextMatching();

  void setFailOnTextMatching(String value);
}
