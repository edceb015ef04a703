package io.pgembed.db;

import java.io.Serializable;
import java.util.List;

/**
 * The job's SQL about its tables: the source (or the user's query), the target of vectors and the failures table.
 * Every statement a run reads or writes them with is built here, from validated, quoted names; what differs
 * between a target of rows and one of chunks comes from {@link #target()}. The commands that only read vectors have
 * theirs in {@link SearchQueries} and {@link CanaryQueries}.
 *
 * <pre>{@code
 * EmbeddingTables tables = new EmbeddingTables(names, 3, 100);
 * Layout layout = EmbeddingSchema.prepare(connection, tables, model.dimension());
 * String pending = tables.pendingQuery(fingerprint);
 * }</pre>
 */
public record EmbeddingTables(TableNames names, int maxAttempts, int samplePercent, String onlyIds)
    implements Serializable {
  /** The reading transaction's start, in microseconds since the epoch: one value for every row of one read. */
  private static final String READ_AT = "(extract(epoch FROM now()) * 1000000)::bigint";
  /** A read time parameter (microseconds since the epoch; 0: unknown, NULL) as a timestamptz, exactly. */
  private static final String READ_AT_PARAMETER =
      "timestamptz 'epoch' + NULLIF(?::bigint, 0) * interval '1 microsecond'";

  /** Every source row may be pending. */
  public EmbeddingTables(TableNames names, int maxAttempts, int samplePercent) {
    this(names, maxAttempts, samplePercent, null);
  }

  /**
   * Only source rows whose id the subquery {@code ids} returns may be pending (its one column: ids of the source's
   * type): how a run drains a change log instead of scanning the source. Null: every row.
   */
  public EmbeddingTables onlyIds(String ids) {
    return new EmbeddingTables(names, maxAttempts, samplePercent, ids);
  }

  /**
   * Restricts a prune to the ids (of the source's type) of the subquery {@code ids}: rows deleted since the change
   * log was drained. Null: every id (an anti-join over the whole target).
   */
  public List<String> pruneStatements(String idCastType, String ids) {
    if (ids == null) {
      return pruneStatements(idCastType);
    }
    return List.of(
        "DELETE FROM " + names.target().quoted() + " e WHERE e.artifact_id IN (" + ids + ") AND "
            + notInSource("e.artifact_id", idCastType),
        "DELETE FROM " + failuresOfTarget() + " AND f.artifact_id IN (SELECT x::text FROM (" + ids + ") x(x)) AND "
            + notInSource("f.artifact_id", idCastType));
  }

  public EmbeddingTables {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("--maxAttempts must be >= 1, but was " + maxAttempts);
    }
    if (samplePercent < 1 || samplePercent > 100) {
      throw new IllegalArgumentException("--samplePercent must be 1 to 100, but was " + samplePercent);
    }
  }

  /** For commands that only read vectors (search, canary-report, promote): the retry policy does not matter. */
  public static EmbeddingTables of(TableNames names) {
    return new EmbeddingTables(names, 1, 100);
  }

  /** The tables of a canary rollout's candidate: the same source, the target's {@code _canary} shadow. */
  public EmbeddingTables canary() {
    return new EmbeddingTables(names.canary(), maxAttempts, samplePercent, onlyIds);
  }

  /** The SQL of the target's shape (rows or chunks). */
  public TargetSql target() {
    return TargetSql.of(names);
  }

  String createTargetStatement(String idCastType, String vectorDeclaration) {
    return target().createStatement(idCastType, vectorDeclaration);
  }

  String createFailuresStatement() {
    return "CREATE TABLE IF NOT EXISTS " + names.failures().quoted() + " ("
        + "target_table text NOT NULL, "
        + "artifact_id text NOT NULL, "
        + "model text NOT NULL, "
        + "error_class text NOT NULL, "
        + "message text, "
        + "attempts integer NOT NULL, "
        + "content_sha256 bytea, "
        + "read_at timestamptz, "
        + "first_failed_at timestamptz NOT NULL DEFAULT now(), "
        + "last_failed_at timestamptz NOT NULL DEFAULT now(), "
        + "PRIMARY KEY (target_table, artifact_id, model))";
  }

  /** Adds read_at to a failures table made before it existed (a no-op when it has it). */
  String addReadAtStatement() {
    return "ALTER TABLE " + names.failures().quoted() + " ADD COLUMN IF NOT EXISTS read_at timestamptz";
  }

  /**
   * The deterministic canary choice: a row is in the sample when the first 8 hex digits of md5(id as text), as a
   * number, mod 100 is below the percentage.
   */
  public static String sampleCondition(String idExpression, int percent) {
    return "mod(('x' || substr(md5(" + idExpression + "::text), 1, 8))::bit(32)::bigint, 100) < " + percent;
  }

  /**
   * Rows that need a vector of the model {@code fingerprint}: none yet, or the text changed, unless the row already
   * failed {@code maxAttempts} times with this same text. Columns: id, text, sha, read_at (the reading
   * transaction's start in microseconds since the epoch: what tells a new attempt from a replayed write).
   */
  public String pendingQuery(String fingerprint) {
    return pendingQuery(fingerprint, KeyRange.ALL, null);
  }

  /**
   * The pending rows whose id is in {@code range} ({@code idCastType}: the id's SQL type, for the bounds' casts).
   * The bounds are literals: each wave's query is a plain query that JdbcIO (and its partitioned read) can wrap.
   */
  public String pendingQuery(String fingerprint, KeyRange range, String idCastType) {
    return pendingQuery(fingerprint, range, idCastType, 0);
  }

  /**
   * The same, with {@code readAtMicros} as every row's read_at (0: the reading transaction's start): a wave read
   * again after a lost connection keeps its first read time, so its failures are not counted twice.
   */
  public String pendingQuery(String fingerprint, KeyRange range, String idCastType, long readAtMicros) {
    String fp = SqlLiteral.of(fingerprint);
    String id = "s." + names.idColumn().quoted();
    String sha = names.sourceSha();
    String readAt = readAtMicros > 0 ? "CAST(" + readAtMicros + " AS bigint)" : READ_AT;
    return "SELECT " + id + " AS id, s." + names.textColumn().quoted() + "::text AS text, " + sha + " AS sha, "
        + readAt + " AS read_at FROM "
        // Restricted to a change log's ids, the log drives the join: the cost follows the log, not the source.
        + (onlyIds != null ? "(" + onlyIds + ") changed(id) JOIN " + names.sourceRelation() + " s ON " + id
            + " = changed.id" : names.sourceRelation() + " s") + target().pendingJoin()
        + " LEFT JOIN " + names.failures().quoted() + " f ON f.target_table = " + names.targetLiteral()
        + " AND f.artifact_id = " + id + "::text AND f.model = " + fp
        + " WHERE " + target().staleCondition(fp)
        + " AND (f.artifact_id IS NULL OR f.attempts < " + maxAttempts + " OR f.content_sha256 IS DISTINCT FROM " + sha
        + ")"
        + (samplePercent < 100 ? " AND " + sampleCondition(id, samplePercent) : "")
        + (range.after() != null ? " AND " + id + " > CAST(" + SqlLiteral.of(range.after()) + " AS " + idCastType + ")" : "")
        + (range.upTo() != null ? " AND " + id + " <= CAST(" + SqlLiteral.of(range.upTo()) + " AS " + idCastType + ")" : "");
  }

  /**
   * The next wave's ids, as text and in id order: of the pending rows with an id above the one parameter (cast to
   * {@code idCastType}; none when {@code first}), the first {@code limit} (the second parameter). It walks the
   * source's primary key, so a wave costs its own rows, not the table's.
   */
  public String nextWaveQuery(String fingerprint, String idCastType, boolean first) {
    return "SELECT p.id::text FROM (" + pendingQuery(fingerprint) + ") p"
        + (first ? "" : " WHERE p.id > CAST(? AS " + idCastType + ")") + " ORDER BY p.id LIMIT ?";
  }

  /**
   * The first {@code limit} pending rows in id order (0: all): what one poll of continuous mode reads. Restricted to
   * a change log's ids, any {@code limit} of them: an order would let the planner walk the source's key instead.
   */
  public String firstPendingQuery(String fingerprint, int limit) {
    if (limit <= 0) {
      return pendingQuery(fingerprint);
    }
    return pendingQuery(fingerprint) + (onlyIds != null ? "" : " ORDER BY s." + names.idColumn().quoted())
        + " LIMIT " + limit;
  }

  public String countPendingQuery(String fingerprint) {
    return "SELECT count(*) FROM (" + pendingQuery(fingerprint) + ") pending";
  }

  /** count, min(id), max(id) of the pending rows: the range that partitioned reads of numeric ids split. */
  public String pendingRangeQuery(String fingerprint) {
    return "SELECT count(*), min(id), max(id) FROM (" + pendingQuery(fingerprint) + ") pending";
  }

  /** Up to 5 ids the source holds more than once, with their counts: none, or the run is refused. */
  public String duplicateIdsQuery() {
    String id = "s." + names.idColumn().quoted();
    return "SELECT " + id + "::text, count(*) FROM " + names.sourceRelation() + " s GROUP BY " + id
        + " HAVING count(*) > 1 ORDER BY count(*) DESC, 1 LIMIT 5";
  }

  /**
   * Deletes the vectors, then this target's failure records, whose row is no longer in the source: anti-joins on
   * the source's id (its primary key's index when it has one). {@code idCastType}: the id's SQL type. For a source
   * table; a {@code --sourceQuery} is never run inside a write ({@link Pruning}).
   */
  public List<String> pruneStatements(String idCastType) {
    return List.of(
        "DELETE FROM " + names.target().quoted() + " e WHERE " + notInSource("e.artifact_id", idCastType),
        "DELETE FROM " + failuresOfTarget() + " AND " + notInSource("f.artifact_id", idCastType));
  }

  /** The ids (as text) of the vectors, then of this target's failure records, whose row is no longer in the source. */
  List<String> goneIdsQueries(String idCastType) {
    return List.of(
        "SELECT DISTINCT e.artifact_id::text FROM " + names.target().quoted() + " e WHERE "
            + notInSource("e.artifact_id", idCastType),
        "SELECT f.artifact_id FROM " + failuresOfTarget() + " AND " + notInSource("f.artifact_id", idCastType));
  }

  /** Deletes the vectors, then the failure records, of the ids in the one parameter (text[]). */
  List<String> deleteByIdsStatements(String idCastType) {
    return List.of(
        "DELETE FROM " + names.target().quoted() + " WHERE artifact_id = ANY(CAST(CAST(? AS text[]) AS " + idCastType
            + "[]))",
        "DELETE FROM " + failuresOfTarget() + " AND f.artifact_id = ANY(CAST(? AS text[]))");
  }

  private String notInSource(String artifactId, String idCastType) {
    return "NOT EXISTS (SELECT 1 FROM " + names.sourceRelation() + " s WHERE s." + names.idColumn().quoted()
        + " = CAST(" + artifactId + " AS " + idCastType + "))";
  }

  /**
   * Removes the failure records a run settles before and after itself (with chunks: of documents now complete for
   * their current text); none for a target of rows. For a source table ({@link Pruning}).
   */
  public List<String> clearCompletedFailuresStatements(String idCastType) {
    return target().completedFailuresConditions(idCastType).stream()
        .map(c -> "DELETE FROM " + failuresOfTarget() + " AND " + c).toList();
  }

  /** The failure records (id, model) {@link #clearCompletedFailuresStatements} removes, for a --sourceQuery. */
  List<String> completedFailuresQueries(String idCastType) {
    return target().completedFailuresConditions(idCastType).stream()
        .map(c -> "SELECT f.artifact_id, f.model FROM " + failuresOfTarget() + " AND " + c).toList();
  }

  /** Removes one failure record; parameters: id, model. */
  String deleteFailureStatement() {
    return "DELETE FROM " + failuresOfTarget() + " AND f.artifact_id = ? AND f.model = ?";
  }

  /** Upserts one vector (or chunk's vector); its parameters are the writer's ({@link TargetSql#upsertStatement}). */
  public String upsertStatement(Layout layout) {
    return target().upsertStatement(layout);
  }

  /**
   * Records a failure. A retryable one counts an attempt (restarting at 1 when the text changed); a skipped row
   * (NULL or blank text) is recorded at {@code maxAttempts}, so it is not read again until its text changes.
   * A replayed write of the same read (same {@code read_at}) changes nothing. Parameters: id, model, error class,
   * message, attempts, sha, read time in microseconds since the epoch (0: unknown, always a new attempt).
   */
  public String failureStatement() {
    return "INSERT INTO " + names.failures().quoted()
        + " AS f (target_table, artifact_id, model, error_class, message, attempts, content_sha256, read_at)"
        + " VALUES (" + names.targetLiteral() + ", ?, ?, ?, ?, ?, ?, " + READ_AT_PARAMETER + ")"
        + " ON CONFLICT (target_table, artifact_id, model) DO UPDATE SET error_class = EXCLUDED.error_class,"
        + " message = EXCLUDED.message, last_failed_at = now(), content_sha256 = EXCLUDED.content_sha256,"
        + " read_at = EXCLUDED.read_at,"
        + " attempts = CASE WHEN EXCLUDED.attempts >= " + maxAttempts + " THEN EXCLUDED.attempts"
        + " WHEN f.content_sha256 IS DISTINCT FROM EXCLUDED.content_sha256 THEN 1"
        // The same read written again (a retried bundle, a replay) is the same attempt.
        + " WHEN f.read_at = EXCLUDED.read_at THEN f.attempts ELSE f.attempts + 1 END";
  }

  /**
   * The name of an index on the target's vector column that uses the HNSW access method (any operator class), or
   * none. Parameters: the target's regclass text, the column's name.
   */
  public String hnswIndexQuery() {
    return "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        + " JOIN pg_am am ON am.oid = ic.relam JOIN pg_attribute a ON a.attrelid = i.indrelid"
        + " AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(?) AND am.amname = 'hnsw' AND a.attname = ?";
  }

  /**
   * Creates an HNSW index for cosine distance on the target's pgvector column (PostgreSQL names it,
   * {@code <target>_<column>_idx}); run only when {@link #hnswIndexQuery} finds none.
   */
  public String createHnswIndexStatement(Layout layout) {
    if (!layout.pgvector()) {
      throw new IllegalArgumentException("an HNSW index needs a pgvector column, not real[]");
    }
    return "CREATE INDEX ON " + names.target().quoted() + " USING hnsw (" + names.embeddingColumn().quoted() + " "
        + layout.vectorType().cosineOps() + ")";
  }

  private String failuresOfTarget() {
    return names.failures().quoted() + " f WHERE f.target_table = " + names.targetLiteral();
  }
}
