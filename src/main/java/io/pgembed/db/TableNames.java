package io.pgembed.db;

import java.io.Serializable;

/**
 * The job's tables and columns, each name validated ({@link SqlIdentifier}) before any SQL is built, and the
 * target's {@link TargetShape}. The source is the table, or the user's query of (id, text) when {@code sourceQuery}
 * is set.
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
    TargetShape shape)
    implements Serializable {

  /** Checks each name, for a target of one vector per row; {@code targetTable} null means {@code <sourceTable>_embeddings}. */
  public static TableNames of(
      String sourceTable, String idColumn, String textColumn, String sourceQuery, String targetTable,
      String embeddingColumn, String failuresTable) {
    return of(sourceTable, idColumn, textColumn, sourceQuery, targetTable, embeddingColumn, failuresTable,
        TargetShape.ROWS);
  }

  /**
   * Checks each name; {@code targetTable} null means the shape's default after the source: {@code
   * <sourceTable>_embeddings} for rows, {@code <sourceTable>_chunks} for chunks.
   */
  public static TableNames of(
      String sourceTable, String idColumn, String textColumn, String sourceQuery, String targetTable,
      String embeddingColumn, String failuresTable, TargetShape shape) {
    if (sourceTable == null) {
      throw new IllegalArgumentException("--sourceTable is required, e.g. --sourceTable=artifacts");
    }
    SqlIdentifier source = SqlIdentifier.table(sourceTable, "--sourceTable");
    return new TableNames(
        source,
        SqlIdentifier.column(idColumn, "--idColumn"),
        SqlIdentifier.column(textColumn, "--textColumn"),
        sourceQuery,
        targetTable == null
            ? source.withSuffix(shape.defaultSuffix(), "--targetTable")
            : SqlIdentifier.table(targetTable, "--targetTable"),
        SqlIdentifier.column(embeddingColumn, "--embeddingColumn"),
        SqlIdentifier.table(failuresTable, "--failuresTable"),
        shape);
  }

  /** The same tables with another target: a canary's shadow table. */
  public TableNames withTarget(SqlIdentifier newTarget) {
    return new TableNames(source, idColumn, textColumn, sourceQuery, newTarget, embeddingColumn, failures, shape);
  }

  /** The candidate's vectors during a canary rollout: {@code <target>_canary}. */
  public TableNames canary() {
    return withTarget(target.withSuffix("_canary", "a shorter --targetTable (the canary's is <target>_canary)"));
  }

  /** The source rows as a relation: the table, or the user's query in parentheses. */
  public String sourceRelation() {
    return sourceQuery == null ? source.quoted() : "(" + sourceQuery + ")";
  }

  /** The sha256 of the text of source row {@code s}, as the upsert stores it. */
  String sourceSha() {
    return "sha256(convert_to(s." + textColumn.quoted() + "::text, 'UTF8'))";
  }

  /** The target's name as the failures table records it, an SQL literal. */
  String targetLiteral() {
    return SqlLiteral.of(target.toString());
  }
}
