package io.pgembed.db;

import java.io.Serializable;

/**
 * The job's tables and columns, each name validated ({@link SqlIdentifier}) before any SQL is built. The source is
 * the table, or the user's query of (id, text) when {@code sourceQuery} is set.
 *
 * <pre>{@code
 * TableNames t = TableNames.of("artifacts", "id", "content", null, null, "embedding", "embedding_failures");
 * }</pre>
 */
public record TableNames(
    SqlIdentifier source,
    SqlIdentifier idColumn,
    SqlIdentifier textColumn,
    String sourceQuery,
    SqlIdentifier target,
    SqlIdentifier embeddingColumn,
    SqlIdentifier failures,
    boolean chunked)
    implements Serializable {

  public TableNames(SqlIdentifier source, SqlIdentifier idColumn, SqlIdentifier textColumn, String sourceQuery,
      SqlIdentifier target, SqlIdentifier embeddingColumn, SqlIdentifier failures) {
    this(source, idColumn, textColumn, sourceQuery, target, embeddingColumn, failures, false);
  }

  /** Checks each name; {@code targetTable} null means {@code <sourceTable>_embeddings}. */
  public static TableNames of(
      String sourceTable, String idColumn, String textColumn, String sourceQuery, String targetTable,
      String embeddingColumn, String failuresTable) {
    if (sourceTable == null) {
      throw new IllegalArgumentException("--sourceTable is required, e.g. --sourceTable=artifacts");
    }
    SqlIdentifier source = SqlIdentifier.table(sourceTable, "--sourceTable");
    return new TableNames(
        source,
        SqlIdentifier.column(idColumn, "--idColumn"),
        SqlIdentifier.column(textColumn, "--textColumn"),
        sourceQuery,
        targetTable == null ? source.withSuffix("_embeddings", "--targetTable") : SqlIdentifier.table(targetTable, "--targetTable"),
        SqlIdentifier.column(embeddingColumn, "--embeddingColumn"),
        SqlIdentifier.table(failuresTable, "--failuresTable"));
  }

  /**
   * The same names for chunks (--chunking=tokens): one target row per (artifact_id, chunk_seq);
   * {@code defaultTarget} (no --targetTable given) becomes {@code <sourceTable>_chunks}.
   */
  public TableNames chunked(boolean defaultTarget) {
    return new TableNames(source, idColumn, textColumn, sourceQuery,
        defaultTarget ? source.withSuffix("_chunks", "--targetTable") : target, embeddingColumn, failures, true);
  }

  /** The same tables with another target: a canary's shadow table. */
  public TableNames withTarget(SqlIdentifier newTarget) {
    return new TableNames(source, idColumn, textColumn, sourceQuery, newTarget, embeddingColumn, failures, chunked);
  }

  /** The candidate's vectors during a canary rollout: {@code <target>_canary}. */
  public TableNames canary() {
    return withTarget(target.withSuffix("_canary", "a shorter --targetTable (the canary's is <target>_canary)"));
  }

  /** The source rows as a relation: the table, or the user's query in parentheses. */
  public String sourceRelation() {
    return sourceQuery == null ? source.quoted() : "(" + sourceQuery + ")";
  }
}
