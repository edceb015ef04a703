package io.pgembed.options;

import io.pgembed.db.TableNames;
import io.pgembed.db.TargetShape;
import io.pgembed.model.Chunking;
import io.pgembed.db.VectorType;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** The source table (or query), the target of vectors and the failures table. */
public interface TableOptions extends PipelineOptions {
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

  @Description("The vector column of the target: real[] (created by default), or pgvector's vector(d) or halfvec(d).")
  @Default.String("embedding")
  String getEmbeddingColumn();

  void setEmbeddingColumn(String value);

  @Description(
      "The vector column's type when the target is created: real[] (the default), vector (pgvector's vector(d)) or"
          + " halfvec (pgvector's 2-byte halfvec(d)); d is the model's dimension. An existing target is used as it"
          + " is; naming a different type than it has is an error.")
  String getVectorType();

  void setVectorType(String value);

  @Description(
      "After a complete batch run, create an HNSW index (cosine ops) on a pgvector target if it has none, and report"
          + " its build time. search then answers through it.")
  @Default.Boolean(false)
  Boolean getHnswIndex();

  void setHnswIndex(Boolean value);

  @Description("The text search configuration of hybrid search's full-text side and of --textSearchIndex (english,"
      + " simple, german, ...: SELECT cfgname FROM pg_ts_config).")
  @Default.String("english")
  String getTextSearchConfig();

  void setTextSearchConfig(String value);

  @Description("Before the run, create a GIN index on the source's to_tsvector(--textSearchConfig, text column) when"
      + " it has none, so that hybrid search's full-text side is an index scan. The table's owner may; another role"
      + " is refused with the statement for its owner to run.")
  @Default.Boolean(false)
  Boolean getTextSearchIndex();

  void setTextSearchIndex(Boolean value);

  @Description(
      "none (the default: one vector per row, texts truncated at the model's limit) or tokens: long texts cut into"
          + " token-exact chunks with overlap, one vector per chunk, in <sourceTable>_chunks unless --targetTable.")
  @Default.Enum("NONE")
  Chunking getChunking();

  void setChunking(Chunking value);

  @Description("With --chunking=tokens: tokens per chunk, special tokens included; 0: the model's maximum length.")
  @Default.Integer(0)
  Integer getChunkTokens();

  void setChunkTokens(Integer value);

  @Description("With --chunking=tokens: tokens shared by consecutive chunks; -1: about 10% of --chunkTokens.")
  @Default.Integer(-1)
  Integer getChunkOverlap();

  void setChunkOverlap(Integer value);

  @Description("Where failed and skipped rows are recorded.")
  @Default.String("embedding_failures")
  String getFailuresTable();

  void setFailuresTable(String value);

  /** --vectorType parsed: null when not given (an existing target's type, or real[] for a new one). */
  static VectorType vectorType(TableOptions o) {
    return VectorType.parse(o.getVectorType(), "--vectorType");
  }

  /** What the target holds, derived from --chunking: one vector per row, or one per chunk. */
  static TargetShape targetShape(TableOptions o) {
    return o.getChunking() == Chunking.TOKENS ? TargetShape.CHUNKS : TargetShape.ROWS;
  }

  /** The validated names these options give. */
  static TableNames tableNames(TableOptions o) {
    return TableNames.of(o.getSourceTable(), o.getIdColumn(), o.getTextColumn(), o.getSourceQuery(),
        o.getTargetTable(), o.getEmbeddingColumn(), o.getFailuresTable(), targetShape(o));
  }
}
