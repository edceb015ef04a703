package io.pgembed.options;

import io.pgembed.db.TableNames;
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

  @Description("The vector column of the target: real[] (created by default) or pgvector's vector(d).")
  @Default.String("embedding")
  String getEmbeddingColumn();

  void setEmbeddingColumn(String value);

  @Description("Where failed and skipped rows are recorded.")
  @Default.String("embedding_failures")
  String getFailuresTable();

  void setFailuresTable(String value);

  /** The validated names these options give. */
  static TableNames tableNames(TableOptions o) {
    return TableNames.of(o.getSourceTable(), o.getIdColumn(), o.getTextColumn(), o.getSourceQuery(),
        o.getTargetTable(), o.getEmbeddingColumn(), o.getFailuresTable());
  }
}
