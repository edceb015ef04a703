package io.pgembed.db;

import java.io.Serializable;
import java.util.List;

/**
 * The SQL that differs between the two {@link TargetShape}s: the target's DDL, what makes a source row stale
 * (pending), the upsert, the failure records a run clears, and what search reads. {@link EmbeddingTables},
 * {@link SearchQueries} and {@link EmbeddingSchema} ask it; none of them branches on the shape.
 *
 * <pre>{@code
 * TargetSql target = TargetSql.of(names);
 * String upsert = target.upsertStatement(layout);
 * }</pre>
 */
public abstract sealed class TargetSql implements Serializable permits TargetSql.Rows, TargetSql.Chunks {
  final TableNames names;

  private TargetSql(TableNames names) {
    this.names = names;
  }

  /** The SQL of {@code names}' target, by its shape. */
  public static TargetSql of(TableNames names) {
    return switch (names.shape()) {
      case ROWS -> new Rows(names);
      case CHUNKS -> new Chunks(names);
    };
  }

  /** Creates the target with the id's {@code idCastType} and the vector column's {@code vectorDeclaration}. */
  abstract String createStatement(String idCastType, String vectorDeclaration);

  /** The joins that {@link #staleCondition} reads, after the source {@code s}. */
  abstract String pendingJoin();

  /** True for a source row {@code s} that needs vectors of the model {@code fp} (an SQL literal). */
  abstract String staleCondition(String fp);

  /** Upserts one vector and clears what its write settles; its parameters are the writer's. */
  public abstract String upsertStatement(Layout layout);

  /**
   * Failure records that a run clears before and after itself (of documents whose chunks are now all current), as
   * a condition on the failures table {@code f}; none for rows, whose upsert clears its own.
   */
  abstract List<String> completedFailuresConditions(String idCastType);

  /** The stored vectors of {@code fp} with their text: id, vector as text, the first 500 characters. */
  abstract String searchQuery(String fp);

  /** The {@code top} vectors of {@code fp} nearest to the one parameter, through pgvector's {@code <=>}. */
  abstract String nearestQuery(String fp, VectorType type, int top);

  /** An existing target's shape must be this one: checked by whether it has {@code chunk_seq}. */
  void checkHolds(boolean holdsChunks) {}

  String target() {
    return names.target().quoted();
  }

  String vector() {
    return names.embeddingColumn().quoted();
  }

  /** One vector per source row, keyed by {@code artifact_id}. */
  static final class Rows extends TargetSql {
    Rows(TableNames names) {
      super(names);
    }

    @Override
    String createStatement(String idCastType, String vectorDeclaration) {
      return "CREATE TABLE IF NOT EXISTS " + target() + " (artifact_id " + idCastType + " PRIMARY KEY, " + vector()
          + " " + vectorDeclaration + " NOT NULL, model text NOT NULL, content_sha256 bytea,"
          + " embedded_at timestamptz NOT NULL DEFAULT now())";
    }

    @Override
    String pendingJoin() {
      return " LEFT JOIN " + target() + " e ON e.artifact_id = s." + names.idColumn().quoted();
    }

    @Override
    String staleCondition(String fp) {
      return "(e.artifact_id IS NULL OR e.model IS DISTINCT FROM " + fp + " OR e.content_sha256 IS DISTINCT FROM "
          + names.sourceSha() + ")";
    }

    /** Upserts one vector and clears the row's earlier failures, in one statement. Parameters: id, id, vector, model, sha. */
    @Override
    public String upsertStatement(Layout layout) {
      return clearFailures("= ?") + " INSERT INTO " + target() + " (" + columns() + ")"
          + " VALUES (CAST(? AS " + layout.idCastType() + "), " + layout.vectorType().parameter() + ", ?, ?, now())"
          + onConflictReplace();
    }

    @Override
    List<String> completedFailuresConditions(String idCastType) {
      return List.of();
    }

    @Override
    String searchQuery(String fp) {
      return "SELECT e.artifact_id::text, e." + vector() + "::text, left(s." + names.textColumn().quoted()
          + "::text, 500) FROM " + target() + " e JOIN " + names.sourceRelation() + " s ON s."
          + names.idColumn().quoted() + " = e.artifact_id WHERE e.model = " + fp;
    }

    @Override
    String nearestQuery(String fp, VectorType type, int top) {
      return "SELECT n.artifact_id::text, 1 - n.distance, left(s." + names.textColumn().quoted() + "::text, 500)"
          + " FROM (SELECT e.artifact_id, e." + vector() + " <=> " + type.parameter() + " AS distance"
          + " FROM " + target() + " e WHERE e.model = " + fp + " ORDER BY distance LIMIT " + top + ") n"
          + " JOIN " + names.sourceRelation() + " s ON s." + names.idColumn().quoted() + " = n.artifact_id"
          + " ORDER BY n.distance";
    }

    @Override
    void checkHolds(boolean holdsChunks) {
      if (holdsChunks) {
        throw new IllegalArgumentException(names.target() + " holds chunks (it has chunk_seq): pass"
            + " --chunking=tokens to keep it current, or name another --targetTable for one vector per row");
      }
    }

    /** A CTE deleting this target's failure records of the ids where {@code artifact_id <idCondition>}. */
    String clearFailures(String idCondition) {
      return "WITH cleared AS (DELETE FROM " + names.failures().quoted() + " WHERE target_table = "
          + names.targetLiteral() + " AND artifact_id " + idCondition + ")";
    }

    /** The target's columns, for inserts (the upsert, a canary's promotion). */
    String columns() {
      return "artifact_id, " + vector() + ", model, content_sha256, embedded_at";
    }

    /** Replaces a row's vector, model, hash and time on a conflict of its id. */
    String onConflictReplace() {
      return " ON CONFLICT (artifact_id) DO UPDATE SET " + vector() + " = EXCLUDED." + vector()
          + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256, embedded_at = EXCLUDED.embedded_at";
    }
  }

  /** One vector per chunk of a row's text, keyed by {@code (artifact_id, chunk_seq)}. */
  static final class Chunks extends TargetSql {
    Chunks(TableNames names) {
      super(names);
    }

    @Override
    String createStatement(String idCastType, String vectorDeclaration) {
      return "CREATE TABLE IF NOT EXISTS " + target() + " (artifact_id " + idCastType + " NOT NULL,"
          + " chunk_seq integer NOT NULL, chunk_count integer NOT NULL, chunk_start integer NOT NULL,"
          + " chunk_end integer NOT NULL, " + vector() + " " + vectorDeclaration + " NOT NULL, model text NOT NULL,"
          + " content_sha256 bytea, embedded_at timestamptz NOT NULL DEFAULT now(),"
          + " PRIMARY KEY (artifact_id, chunk_seq))";
    }

    @Override
    String pendingJoin() {
      return "";
    }

    /** A document needs every one of its chunks, of this model and this text. */
    @Override
    String staleCondition(String fp) {
      return "NOT " + allChunks(fp);
    }

    /**
     * Upserts one chunk's vector and removes the document's chunks past its new count (a document that shrank
     * leaves no stale chunks). A document's failure record stays until all its chunks are current
     * ({@link #completedFailuresConditions}): chunks of one document succeed and fail in any order. Parameters:
     * id, chunk count, id, chunk seq, chunk count, start, end, vector, model, sha.
     */
    @Override
    public String upsertStatement(Layout layout) {
      String idParam = "CAST(? AS " + layout.idCastType() + ")";
      return "WITH shrunk AS (DELETE FROM " + target() + " WHERE artifact_id = " + idParam + " AND chunk_seq >= ?)"
          + " INSERT INTO " + target() + " (artifact_id, chunk_seq, chunk_count, chunk_start, chunk_end, " + vector()
          + ", model, content_sha256, embedded_at)"
          + " VALUES (" + idParam + ", ?, ?, ?, ?, " + layout.vectorType().parameter() + ", ?, ?, now())"
          + " ON CONFLICT (artifact_id, chunk_seq) DO UPDATE SET chunk_count = EXCLUDED.chunk_count,"
          + " chunk_start = EXCLUDED.chunk_start, chunk_end = EXCLUDED.chunk_end, " + vector() + " = EXCLUDED."
          + vector() + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256,"
          + " embedded_at = EXCLUDED.embedded_at";
    }

    /** Documents whose chunks are now all there, of the failed model and the document's current text. */
    @Override
    List<String> completedFailuresConditions(String idCastType) {
      return List.of("EXISTS (SELECT 1 FROM " + names.sourceRelation() + " s WHERE s." + names.idColumn().quoted()
          + " = CAST(f.artifact_id AS " + idCastType + ") AND " + allChunks("f.model") + ")");
    }

    /** The chunk's own text, from its offsets in the current text (chunks of an older text are left out). */
    @Override
    String searchQuery(String fp) {
      return "SELECT e.artifact_id::text, e." + vector() + "::text, " + excerpt("e") + " FROM " + target()
          + " e JOIN " + names.sourceRelation() + " s ON s." + names.idColumn().quoted()
          + " = e.artifact_id AND e.content_sha256 = " + names.sourceSha() + " WHERE e.model = " + fp;
    }

    /** The nearest chunks (10 per hit asked for, at least 100), the best per document, the k best documents. */
    @Override
    String nearestQuery(String fp, VectorType type, int top) {
      return "SELECT n.artifact_id::text, 1 - n.distance, " + excerpt("n") + " FROM (SELECT DISTINCT ON"
          + " (c.artifact_id) c.* FROM (SELECT e.artifact_id, e.chunk_start, e.chunk_end, e.content_sha256, e."
          + vector() + " <=> " + type.parameter() + " AS distance FROM " + target() + " e"
          + " WHERE e.model = " + fp + " ORDER BY distance LIMIT " + Math.max(100, top * 10)
          + ") c ORDER BY c.artifact_id, c.distance) n"
          + " JOIN " + names.sourceRelation() + " s ON s." + names.idColumn().quoted() + " = n.artifact_id"
          + " AND n.content_sha256 = " + names.sourceSha() + " ORDER BY n.distance LIMIT " + top;
    }

    @Override
    void checkHolds(boolean holdsChunks) {
      if (!holdsChunks) {
        throw new IllegalArgumentException("--chunking=tokens needs a target of chunks, but " + names.target()
            + " has one vector per row (no chunk_seq column): leave --targetTable out (chunks go to "
            + names.source() + TargetShape.CHUNKS.defaultSuffix() + ") or name a new table");
      }
    }

    /**
     * Whether the source row {@code s} has all its chunks ({@code chunk_count} of them) of {@code model} (an SQL
     * expression) and of its current text.
     */
    private String allChunks(String model) {
      return "EXISTS (SELECT 1 FROM " + target() + " e WHERE e.artifact_id = s." + names.idColumn().quoted()
          + " AND e.model = " + model + " AND e.content_sha256 = " + names.sourceSha()
          + " HAVING count(*) = min(e.chunk_count))";
    }

    /** A chunk's text from its code-point offsets in the source row {@code s}: the first 500 characters. */
    private String excerpt(String chunk) {
      return "left(substr(s." + names.textColumn().quoted() + "::text, " + chunk + ".chunk_start + 1, " + chunk
          + ".chunk_end - " + chunk + ".chunk_start), 500)";
    }
  }
}
