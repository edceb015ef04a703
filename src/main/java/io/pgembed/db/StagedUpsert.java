package io.pgembed.db;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The SQL of the COPY write path of a target with one vector per row: a batch of vectors is copied in PostgreSQL's
 * binary format into a session's temporary staging table, then upserted from it in one statement with the
 * row-by-row upsert's semantics ({@link TargetSql#upsertStatement}: the ids' failure records cleared, the vector,
 * model, hash and time replaced on a conflict), the rows taken in id order so that two writers lock them in the same
 * order. A vector(d) target's vectors are staged in pgvector's own binary form (no cast); real[] and halfvec(d)
 * targets' as real[], cast by the upsert as the row-by-row statement casts them.
 *
 * <pre>{@code
 * StagedUpsert staged = StagedUpsert.of(tables.names(), layout);
 * s.execute(staged.createStagingStatement());
 * copyManager.copyIn(staged.copyStatement(), binaryRows);
 * ps = c.prepareStatement(staged.upsertStatement()); ps.setString(1, fingerprint); ps.executeUpdate();
 * }</pre>
 */
public final class StagedUpsert implements Serializable {
  private final TableNames names;
  private final Layout layout;

  private StagedUpsert(TableNames names, Layout layout) {
    this.names = names;
    this.layout = layout;
  }

  /** The staged upsert of a target of one vector per row; a target of chunks has none (written row by row). */
  public static StagedUpsert of(TableNames names, Layout layout) {
    if (names.shape() != TargetShape.ROWS) {
      throw new IllegalArgumentException("a target of chunks (" + names.target() + ") is written row by row:"
          + " --writeMethod=copy writes targets of one vector per row");
    }
    return new StagedUpsert(names, layout);
  }

  /** Whether the staged vectors are pgvector's binary {@code vector} (else a binary {@code real[]}). */
  public boolean stagesNativeVector() {
    return layout.vectorType() == VectorType.VECTOR;
  }

  /**
   * The session's staging table, emptied at every commit; created once per connection and kind of staged vector (a
   * pooled connection may write targets of both kinds). Its vector column has no dimension: the target's is checked
   * when the upsert casts or assigns.
   */
  public String createStagingStatement() {
    return "CREATE TEMPORARY TABLE IF NOT EXISTS " + staging() + " (id text NOT NULL, v "
        + (stagesNativeVector() ? "vector" : "real[]") + " NOT NULL, sha bytea) ON COMMIT DELETE ROWS";
  }

  private String staging() {
    return stagesNativeVector() ? "pg_temp.pgembed_staged_vector" : "pg_temp.pgembed_staged_real_array";
  }

  /** Binary COPY of (id text, vector, sha bytea) rows into the staging table. */
  public String copyStatement() {
    return "COPY " + staging() + " (id, v, sha) FROM STDIN (FORMAT binary)";
  }

  /** Upserts the staged rows and clears their failure records. One parameter: the model's fingerprint. */
  public String upsertStatement() {
    TargetSql.Rows rows = new TargetSql.Rows(names);
    String vector = layout.vectorType() == VectorType.HALFVEC ? "CAST(v AS halfvec)" : "v";
    return rows.clearFailures("IN (SELECT id FROM " + staging() + ")")
        + " INSERT INTO " + rows.target() + " (" + rows.columns() + ")"
        + " SELECT CAST(id AS " + layout.idCastType() + "), " + vector + ", ?, sha, now() FROM " + staging()
        + " ORDER BY 1" + rows.onConflictReplace();
  }

  /**
   * Whether the connection's user may create temporary tables in its database (the TEMPORARY privilege, which
   * PUBLIC has unless it was revoked).
   */
  public static boolean mayStage(Connection c) throws SQLException {
    try (PreparedStatement ps =
            c.prepareStatement("SELECT has_database_privilege(current_database(), 'TEMPORARY')");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
