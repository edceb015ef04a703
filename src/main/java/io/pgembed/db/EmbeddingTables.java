package io.pgembed.db;

import java.io.Serializable;
import java.util.List;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The one owner of the SQL about the job's tables: the source (or the user's query), the target of vectors, the
 * failures table and a canary's shadow target. Every statement that reads or writes them is built here, from
 * validated, quoted names; the transforms only receive the strings they run.
 *
 * <p>The target's shape, created when missing: {@code artifact_id} (the source id's type, primary key), the vector
 * column ({@code real[]}, or pgvector's {@code vector(d)} or {@code halfvec(d)}), {@code model} (the fingerprint),
 * {@code content_sha256} and {@code embedded_at}.
 *
 * <pre>{@code
 * EmbeddingTables tables = new EmbeddingTables(names, 3, 100);
 * Layout layout = tables.prepare(connection, model.dimension());
 * String pending = tables.pendingQuery(fingerprint);
 * }</pre>
 */
public record EmbeddingTables(TableNames names, int maxAttempts, int samplePercent) implements Serializable {
  /** The reading transaction's start, in microseconds since the epoch: one value for every row of one read. */
  private static final String READ_AT = "(extract(epoch FROM now()) * 1000000)::bigint";
  /** A read time parameter (microseconds since the epoch; 0: unknown, NULL) as a timestamptz, exactly. */
  private static final String READ_AT_PARAMETER =
      "timestamptz 'epoch' + NULLIF(?::bigint, 0) * interval '1 microsecond'";


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
    return new EmbeddingTables(names.canary(), maxAttempts, samplePercent);
  }

  /**
   * Checks the source and its columns, creates the target and failures tables when missing, and checks the vector
   * column against the model's {@code dimension}: nothing is read before this succeeds.
   */
  public EmbeddingSchema.Layout prepare(Connection c, int dimension) throws SQLException {
    return prepare(c, dimension, null);
  }

  /**
   * The same; a missing target is created with {@code vectorType}'s column ({@code vector(384)}; null: real[]), an
   * existing one must have that type when it is given.
   */
  public EmbeddingSchema.Layout prepare(Connection c, int dimension, VectorType vectorType) throws SQLException {
    return EmbeddingSchema.prepare(c, this, dimension, vectorType);
  }

  /** The checks of {@link #prepare} without its DDL: the plan says what {@code create} would still change. */
  public EmbeddingSchema.Plan plan(Connection c, int dimension, VectorType vectorType) throws SQLException {
    return EmbeddingSchema.plan(c, this, dimension, vectorType);
  }

  String createTargetStatement(String idCastType, String vectorDeclaration) {
    if (names.chunked()) {
      return "CREATE TABLE IF NOT EXISTS " + names.target().quoted() + " ("
          + "artifact_id " + idCastType + " NOT NULL, "
          + "chunk_seq integer NOT NULL, "
          + "chunk_count integer NOT NULL, "
          + "chunk_start integer NOT NULL, "
          + "chunk_end integer NOT NULL, "
          + names.embeddingColumn().quoted() + " " + vectorDeclaration + " NOT NULL, "
          + "model text NOT NULL, "
          + "content_sha256 bytea, "
          + "embedded_at timestamptz NOT NULL DEFAULT now(), "
          + "PRIMARY KEY (artifact_id, chunk_seq))";
    }
    return "CREATE TABLE IF NOT EXISTS " + names.target().quoted() + " ("
        + "artifact_id " + idCastType + " PRIMARY KEY, "
        + names.embeddingColumn().quoted() + " " + vectorDeclaration + " NOT NULL, "
        + "model text NOT NULL, "
        + "content_sha256 bytea, "
        + "embedded_at timestamptz NOT NULL DEFAULT now())";
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
    String text = "s." + names.textColumn().quoted();
    String sha = shaOfSource();
    String readAt = readAtMicros > 0 ? "CAST(" + readAtMicros + " AS bigint)" : READ_AT;
    // A row needs its vector; a chunked document needs every one of its chunks, of this model and this text.
    String stale = names.chunked()
        ? "NOT " + allChunks(fp)
        : "(e.artifact_id IS NULL OR e.model IS DISTINCT FROM " + fp + " OR e.content_sha256 IS DISTINCT FROM " + sha
            + ")";
    return "SELECT " + id + " AS id, " + text + "::text AS text, " + sha + " AS sha, " + readAt + " AS read_at"
        + " FROM " + names.sourceRelation() + " s"
        + (names.chunked() ? "" : " LEFT JOIN " + names.target().quoted() + " e ON e.artifact_id = " + id)
        + " LEFT JOIN " + names.failures().quoted() + " f ON f.target_table = " + targetLiteral()
        + " AND f.artifact_id = " + id + "::text AND f.model = " + fp
        + " WHERE " + stale
        + " AND (f.artifact_id IS NULL OR f.attempts < " + maxAttempts
        + " OR f.content_sha256 IS DISTINCT FROM " + sha + ")"
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

  private String failuresOfTarget() {
    return names.failures().quoted() + " f WHERE f.target_table = " + targetLiteral();
  }

  private String notInSource(String artifactId, String idCastType) {
    return "NOT EXISTS (SELECT 1 FROM " + names.sourceRelation() + " s WHERE s." + names.idColumn().quoted()
        + " = CAST(" + artifactId + " AS " + idCastType + "))";
  }

  /** Up to 5 ids the source holds more than once, with their counts: none, or the run is refused. */
  public String duplicateIdsQuery() {
    String id = "s." + names.idColumn().quoted();
    return "SELECT " + id + "::text, count(*) FROM " + names.sourceRelation() + " s GROUP BY " + id
        + " HAVING count(*) > 1 ORDER BY count(*) DESC, 1 LIMIT 5";
  }

  /** The first {@code limit} pending rows in id order (0: all): what one poll of continuous mode reads. */
  public String firstPendingQuery(String fingerprint, int limit) {
    return limit > 0
        ? pendingQuery(fingerprint) + " ORDER BY s." + names.idColumn().quoted() + " LIMIT " + limit
        : pendingQuery(fingerprint);
  }

  public String countPendingQuery(String fingerprint) {
    return "SELECT count(*) FROM (" + pendingQuery(fingerprint) + ") pending";
  }

  /** count, min(id), max(id) of the pending rows: the range that partitioned reads of numeric ids split. */
  public String pendingRangeQuery(String fingerprint) {
    return "SELECT count(*), min(id), max(id) FROM (" + pendingQuery(fingerprint) + ") pending";
  }

  /** Upserts one vector and clears the row's earlier failures, in one statement. Parameters: id, id, vector, model, sha. */
  public String upsertStatement(EmbeddingSchema.Layout layout) {
    if (names.chunked()) {
      return chunkUpsertStatement(layout);
    }
    return "WITH cleared AS (DELETE FROM " + names.failures().quoted() + " WHERE target_table = " + targetLiteral()
        + " AND artifact_id = ?)"
        + " INSERT INTO " + names.target().quoted() + " (" + targetColumns() + ")"
        + " VALUES (CAST(? AS " + layout.idCastType() + "), " + vectorParameter(layout.vectorType()) + ", ?, ?, now())"
        + onConflictReplace();
  }

  /**
   * Upserts one chunk's vector and removes the document's chunks past its new count (a document that shrank leaves
   * no stale chunks). A document's failure record stays until all its chunks are current
   * ({@link #clearCompletedFailuresStatement}): chunks of one document succeed and fail in any order. Parameters:
   * id, chunk count, id, chunk seq, chunk count, start, end, vector, model, sha.
   */
  private String chunkUpsertStatement(EmbeddingSchema.Layout layout) {
    String vector = names.embeddingColumn().quoted();
    String idParam = "CAST(? AS " + layout.idCastType() + ")";
    return "WITH shrunk AS (DELETE FROM " + names.target().quoted() + " WHERE artifact_id = " + idParam
        + " AND chunk_seq >= ?)"
        + " INSERT INTO " + names.target().quoted() + " (artifact_id, chunk_seq, chunk_count, chunk_start, chunk_end, "
        + vector + ", model, content_sha256, embedded_at)"
        + " VALUES (" + idParam + ", ?, ?, ?, ?, " + vectorParameter(layout.vectorType()) + ", ?, ?, now())"
        + " ON CONFLICT (artifact_id, chunk_seq) DO UPDATE SET chunk_count = EXCLUDED.chunk_count,"
        + " chunk_start = EXCLUDED.chunk_start, chunk_end = EXCLUDED.chunk_end, " + vector + " = EXCLUDED." + vector
        + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256, embedded_at = EXCLUDED.embedded_at";
  }

  /**
   * With chunks: removes the failure records of documents whose chunks are now all there, of the failed model and
   * the document's current text (run before and after each run). For a source table ({@link Pruning}).
   */
  public String clearCompletedFailuresStatement(String idCastType) {
    return "DELETE FROM " + failuresOfTarget() + " AND " + completeForCurrentText(idCastType);
  }

  /** The failure records (id, model) {@link #clearCompletedFailuresStatement} removes, for a --sourceQuery. */
  String completedFailuresQuery(String idCastType) {
    return "SELECT f.artifact_id, f.model FROM " + failuresOfTarget() + " AND " + completeForCurrentText(idCastType);
  }

  /** Removes one failure record; parameters: id, model. */
  String deleteFailureStatement() {
    return "DELETE FROM " + failuresOfTarget() + " AND f.artifact_id = ? AND f.model = ?";
  }

  private String completeForCurrentText(String idCastType) {
    String id = "s." + names.idColumn().quoted();
    return "EXISTS (SELECT 1 FROM " + names.sourceRelation() + " s WHERE " + id + " = CAST(f.artifact_id AS "
        + idCastType + ") AND " + allChunks("f.model") + ")";
  }

  /**
   * Whether the source row {@code s} has all its chunks ({@code chunk_count} of them) of {@code model} (an SQL
   * expression) and of its current text.
   */
  private String allChunks(String model) {
    return "EXISTS (SELECT 1 FROM " + names.target().quoted() + " e WHERE e.artifact_id = s."
        + names.idColumn().quoted() + " AND e.model = " + model + " AND e.content_sha256 = " + shaOfSource()
        + " HAVING count(*) = min(e.chunk_count))";
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
        + " VALUES (" + targetLiteral() + ", ?, ?, ?, ?, ?, ?, " + READ_AT_PARAMETER + ")"
        + " ON CONFLICT (target_table, artifact_id, model) DO UPDATE SET error_class = EXCLUDED.error_class,"
        + " message = EXCLUDED.message, last_failed_at = now(), content_sha256 = EXCLUDED.content_sha256,"
        + " read_at = EXCLUDED.read_at,"
        + " attempts = CASE WHEN EXCLUDED.attempts >= " + maxAttempts + " THEN EXCLUDED.attempts"
        + " WHEN f.content_sha256 IS DISTINCT FROM EXCLUDED.content_sha256 THEN 1"
        // The same read written again (a retried bundle, a replay) is the same attempt.
        + " WHEN f.read_at = EXCLUDED.read_at THEN f.attempts ELSE f.attempts + 1 END";
  }

  /** Adds read_at to a failures table made before it existed (a no-op when it has it). */
  String addReadAtStatement() {
    return "ALTER TABLE " + names.failures().quoted() + " ADD COLUMN IF NOT EXISTS read_at timestamptz";
  }

  /** The stored vectors of {@code fingerprint} with their rows' text: id, vector as text, the first 500 characters. */
  public String searchQuery(String fingerprint) {
    if (names.chunked()) {
      // The chunk's own text, from its offsets in the current text (chunks of an older text are left out).
      return "SELECT e.artifact_id::text, e." + names.embeddingColumn().quoted() + "::text, " + excerpt("e")
          + " FROM " + names.target().quoted() + " e JOIN " + names.sourceRelation() + " s ON s."
          + names.idColumn().quoted() + " = e.artifact_id AND e.content_sha256 = " + shaOfSource()
          + " WHERE e.model = " + SqlLiteral.of(fingerprint);
    }
    return "SELECT e.artifact_id::text, e." + names.embeddingColumn().quoted() + "::text, left(s."
        + names.textColumn().quoted() + "::text, 500)"
        + " FROM " + names.target().quoted() + " e JOIN " + names.sourceRelation() + " s ON s."
        + names.idColumn().quoted() + " = e.artifact_id"
        + " WHERE e.model = " + SqlLiteral.of(fingerprint);
  }

  /**
   * On a pgvector target: the {@code top} stored vectors of {@code fingerprint} nearest to the one parameter (the
   * query as float4[]) by cosine distance, with their rows' text; id, similarity (1 - distance), the first 500
   * characters. One {@code ORDER BY embedding <=> $1 LIMIT k}, which an HNSW index on the column answers.
   */
  public String nearestQuery(String fingerprint, VectorType type, int top) {
    if (!type.pgvector()) {
      throw new IllegalArgumentException("nearestQuery needs a pgvector column; real[] is scanned (searchQuery)");
    }
    String vector = names.embeddingColumn().quoted();
    if (names.chunked()) {
      // The nearest chunks (10 per hit asked for, at least 100), the best per document, the k best documents.
      return "SELECT n.artifact_id::text, 1 - n.distance, " + excerpt("n") + " FROM (SELECT DISTINCT ON"
          + " (c.artifact_id) c.* FROM (SELECT e.artifact_id, e.chunk_start, e.chunk_end, e.content_sha256, e."
          + vector + " <=> " + vectorParameter(type) + " AS distance FROM " + names.target().quoted() + " e"
          + " WHERE e.model = " + SqlLiteral.of(fingerprint) + " ORDER BY distance LIMIT " + Math.max(100, top * 10)
          + ") c ORDER BY c.artifact_id, c.distance) n"
          + " JOIN " + names.sourceRelation() + " s ON s." + names.idColumn().quoted() + " = n.artifact_id"
          + " AND n.content_sha256 = " + shaOfSource() + " ORDER BY n.distance LIMIT " + top;
    }
    return "SELECT n.artifact_id::text, 1 - n.distance, left(s." + names.textColumn().quoted() + "::text, 500)"
        + " FROM (SELECT e.artifact_id, e." + vector + " <=> " + vectorParameter(type) + " AS distance"
        + " FROM " + names.target().quoted() + " e WHERE e.model = " + SqlLiteral.of(fingerprint)
        + " ORDER BY distance LIMIT " + top + ") n"
        + " JOIN " + names.sourceRelation() + " s ON s." + names.idColumn().quoted() + " = n.artifact_id"
        + " ORDER BY n.distance";
  }

  /**
   * Rows with a vector of the current model here and of the candidate in {@code canary}'s target: id, current
   * vector, candidate vector (as text), the row's text; ordered by id.
   */
  public String canaryComparisonQuery(EmbeddingTables canary, String currentFingerprint, String candidateFingerprint) {
    String vector = names.embeddingColumn().quoted();
    return "SELECT e.artifact_id::text, e." + vector + "::text, n." + vector + "::text, s."
        + names.textColumn().quoted() + "::text FROM " + names.target().quoted() + " e JOIN "
        + canary.names().target().quoted() + " n USING (artifact_id) JOIN " + names.sourceRelation() + " s ON s."
        + names.idColumn().quoted() + " = e.artifact_id WHERE e.model = " + SqlLiteral.of(currentFingerprint)
        + " AND n.model = " + SqlLiteral.of(candidateFingerprint) + " ORDER BY e.artifact_id::text";
  }

  /**
   * What the model of the fingerprint (both parameters) did with this target's rows: its vectors here, and its
   * failure records (skipped NULL or blank texts are not failures). For the canary gate's failure rate.
   */
  public String attemptsQuery() {
    return "SELECT (SELECT count(*) FROM " + names.target().quoted() + " WHERE model = ?),"
        + " (SELECT count(*) FROM " + names.failures().quoted() + " WHERE target_table = " + targetLiteral()
        + " AND model = ? AND error_class NOT LIKE 'skipped\\_%')";
  }

  /** Copies every vector of {@code canary}'s target into this target, replacing row by row (upserts). */
  public String promoteStatement(EmbeddingTables canary) {
    return "INSERT INTO " + names.target().quoted() + " (" + targetColumns() + ")"
        + " SELECT " + targetColumns() + " FROM " + canary.names().target().quoted()
        + onConflictReplace();
  }

  /**
   * The name of an index on the target's vector column that uses the HNSW access method (any operator class), or
   * none. One parameter: the target's regclass text.
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
  public String createHnswIndexStatement(EmbeddingSchema.Layout layout) {
    if (!layout.pgvector()) {
      throw new IllegalArgumentException("an HNSW index needs a pgvector column, not real[]");
    }
    return "CREATE INDEX ON " + names.target().quoted() + " USING hnsw (" + names.embeddingColumn().quoted() + " "
        + layout.vectorType().cosineOps() + ")";
  }

  /** A float4[] parameter (sent binary) as the column's type: pgvector casts real[] to vector and halfvec. */
  static String vectorParameter(VectorType type) {
    return type.pgvector() ? "CAST(CAST(? AS real[]) AS " + type.sqlName() + ")" : "CAST(? AS real[])";
  }

  /** A chunk's text from its code-point offsets in the source row {@code s}: the first 500 characters. */
  private String excerpt(String chunk) {
    return "left(substr(s." + names.textColumn().quoted() + "::text, " + chunk + ".chunk_start + 1, " + chunk
        + ".chunk_end - " + chunk + ".chunk_start), 500)";
  }

  private String shaOfSource() {
    return "sha256(convert_to(s." + names.textColumn().quoted() + "::text, 'UTF8'))";
  }

  private String targetColumns() {
    return "artifact_id, " + names.embeddingColumn().quoted() + ", model, content_sha256, embedded_at";
  }

  private String onConflictReplace() {
    String vector = names.embeddingColumn().quoted();
    return " ON CONFLICT (artifact_id) DO UPDATE SET " + vector + " = EXCLUDED." + vector
        + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256, embedded_at = EXCLUDED.embedded_at";
  }

  private String targetLiteral() {
    return SqlLiteral.of(names.target().toString());
  }
}
