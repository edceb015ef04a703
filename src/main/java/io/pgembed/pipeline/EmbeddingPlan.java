package io.pgembed.pipeline;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.SqlIdentifier;
import io.pgembed.db.SqlLiteral;
import io.pgembed.model.ModelLoader;
import java.io.Serializable;

/**
 * Everything the pipeline's steps need, resolved and checked once at start-up: the database (without its
 * password), validated table and column names, the tables' layout, the model's loader and fingerprint.
 */
public record EmbeddingPlan(
    Database database,
    SqlIdentifier source,
    SqlIdentifier idColumn,
    SqlIdentifier textColumn,
    String sourceQuery,
    SqlIdentifier target,
    SqlIdentifier embeddingColumn,
    SqlIdentifier failures,
    EmbeddingSchema.Layout layout,
    ModelLoader loader,
    String fingerprint,
    int maxAttempts,
    int samplePercent)
    implements Serializable {

  /**
   * The deterministic canary choice: a row is in the sample when the first 8 hex digits of md5(id as text), as a
   * number, mod 100 is below the percentage.
   */
  public static String sampleCondition(String idExpression, int percent) {
    return "mod(('x' || substr(md5(" + idExpression + "::text), 1, 8))::bit(32)::bigint, 100) < " + percent;
  }

  /** The source rows as (id, text): the table, or the user's query. */
  public String sourceRelation() {
    return sourceQuery == null ? source.quoted() : "(" + sourceQuery + ")";
  }

  /**
   * Rows that need a vector: none yet for this model, or the text changed, unless the row already failed
   * {@code maxAttempts} times with this same text. Columns: id, text, sha.
   */
  public String pendingQuery() {
    String fp = SqlLiteral.of(fingerprint);
    String sha = "sha256(convert_to(s." + textColumn.quoted() + "::text, 'UTF8'))";
    return "SELECT s." + idColumn.quoted() + " AS id, s." + textColumn.quoted() + "::text AS text, " + sha + " AS sha"
        + " FROM " + sourceRelation() + " s"
        + " LEFT JOIN " + target.quoted() + " e ON e.artifact_id = s." + idColumn.quoted()
        + " LEFT JOIN " + failures.quoted() + " f ON f.target_table = " + SqlLiteral.of(target.toString())
        + " AND f.artifact_id = s." + idColumn.quoted() + "::text AND f.model = " + fp
        + " WHERE (e.artifact_id IS NULL OR e.model IS DISTINCT FROM " + fp
        + " OR e.content_sha256 IS DISTINCT FROM " + sha + ")"
        + " AND (f.artifact_id IS NULL OR f.attempts < " + maxAttempts
        + " OR f.content_sha256 IS DISTINCT FROM " + sha + ")"
        + (samplePercent < 100 ? " AND " + sampleCondition("s." + idColumn.quoted(), samplePercent) : "");
  }

  public String countPendingQuery() {
    return "SELECT count(*) FROM (" + pendingQuery() + ") pending";
  }

  /** Upserts one vector and clears the row's earlier failures, in one statement. */
  public String upsertStatement() {
    String vectorCast = layout.pgvector() ? "vector" : "real[]";
    return "WITH cleared AS (DELETE FROM " + failures.quoted() + " WHERE target_table = "
        + SqlLiteral.of(target.toString()) + " AND artifact_id = ?)"
        + " INSERT INTO " + target.quoted() + " (artifact_id, " + embeddingColumn.quoted()
        + ", model, content_sha256, embedded_at)"
        + " VALUES (CAST(? AS " + layout.idCastType() + "), CAST(? AS " + vectorCast + "), ?, ?, now())"
        + " ON CONFLICT (artifact_id) DO UPDATE SET " + embeddingColumn.quoted() + " = EXCLUDED."
        + embeddingColumn.quoted() + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256,"
        + " embedded_at = EXCLUDED.embedded_at";
  }

  /**
   * Records a failure. A retryable one counts an attempt (restarting at 1 when the text changed); a skipped row
   * (NULL or blank text) is recorded at {@code maxAttempts}, so it is not read again until its text changes.
   */
  public String failureStatement() {
    return "INSERT INTO " + failures.quoted()
        + " AS f (target_table, artifact_id, model, error_class, message, attempts, content_sha256)"
        + " VALUES (" + SqlLiteral.of(target.toString()) + ", ?, ?, ?, ?, ?, ?)"
        + " ON CONFLICT (target_table, artifact_id, model) DO UPDATE SET error_class = EXCLUDED.error_class,"
        + " message = EXCLUDED.message, last_failed_at = now(), content_sha256 = EXCLUDED.content_sha256,"
        + " attempts = CASE WHEN EXCLUDED.attempts >= " + maxAttempts + " THEN EXCLUDED.attempts"
        + " WHEN f.content_sha256 IS DISTINCT FROM EXCLUDED.content_sha256 THEN 1 ELSE f.attempts + 1 END";
  }
}
