package io.pgembed.db;

/**
 * What {@code canary-report} and {@code promote} read and write: the current target ({@code current}) and the
 * candidate's shadow ({@code <target>_canary}). Canary rollouts run on targets of one vector per row.
 *
 * <pre>{@code
 * CanaryQueries q = new CanaryQueries(names);
 * String both = q.comparisonQuery(currentFingerprint, candidateFingerprint);
 * }</pre>
 */
public record CanaryQueries(TableNames current) {
  public TableNames candidate() {
    return current.canary();
  }

  /**
   * Rows with a vector of the current model in the target and of the candidate in its shadow: id, current vector,
   * candidate vector (as text), the row's text; ordered by id.
   */
  public String comparisonQuery(String currentFingerprint, String candidateFingerprint) {
    String vector = current.embeddingColumn().quoted();
    return "SELECT e.artifact_id::text, e." + vector + "::text, n." + vector + "::text, s."
        + current.textColumn().quoted() + "::text FROM " + current.target().quoted() + " e JOIN "
        + candidate().target().quoted() + " n USING (artifact_id) JOIN " + current.sourceRelation() + " s ON s."
        + current.idColumn().quoted() + " = e.artifact_id WHERE e.model = " + SqlLiteral.of(currentFingerprint)
        + " AND n.model = " + SqlLiteral.of(candidateFingerprint) + " ORDER BY e.artifact_id::text";
  }

  /**
   * What the model of the fingerprint (parameters 1 and 2) did with the shadow's rows: its vectors there, and its
   * failure records whose class does not start with the third parameter (the prefix of rows skipped for their text,
   * which are not the model's failures). For the canary gate's failure rate.
   */
  public String attemptsQuery() {
    TableNames n = candidate();
    return "SELECT (SELECT count(*) FROM " + n.target().quoted() + " WHERE model = ?),"
        + " (SELECT count(*) FROM " + n.failures().quoted() + " WHERE target_table = " + n.targetLiteral()
        + " AND model = ? AND NOT starts_with(error_class, ?))";
  }

  /** Copies every vector of the shadow into the target, replacing row by row (upserts). */
  public String promoteStatement() {
    TargetSql.Rows rows = new TargetSql.Rows(current);
    return "INSERT INTO " + current.target().quoted() + " (" + rows.columns() + ") SELECT " + rows.columns()
        + " FROM " + candidate().target().quoted() + rows.onConflictReplace();
  }
}
