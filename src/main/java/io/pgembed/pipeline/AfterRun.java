package io.pgembed.pipeline;

import io.pgembed.capture.ChangeLog;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Pruning;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a run does in the database once its pipeline has ended, before it reports: clears the failure records it
 * settled (chunks: documents now complete), counts what is still pending, settles the change log it drained
 * (--changeCapture=trigger), and after a complete batch run with
 * {@code --hnswIndex} builds the target's HNSW index when it has none.
 *
 * <pre>{@code
 * AfterRun.Outcome after = AfterRun.settle(checked, RunStatus.COMPLETE, null);
 * }</pre>
 */
final class AfterRun {
  private static final Logger LOG = LoggerFactory.getLogger(AfterRun.class);

  private AfterRun() {}

  /** The run's final status and error (an index build can fail it), rows still pending (-1: unknown), the index. */
  record Outcome(RunStatus status, String error, long stillPending, IndexBuild index, ChangeLog.Depth changeLog) {}

  /** An HNSW index on the target: its name, the seconds its build took, whether this run built it. */
  public record IndexBuild(String name, double seconds, boolean built) {}

  static Outcome settle(Preflight.Checked checked, RunStatus status, String error) {
    long stillPending;
    ChangeLog.Depth depth = null;
    try {
      new Pruning(checked.tables(), checked.layout().idCastType()).clearCompletedFailures(checked.database());
      stillPending = countPending(checked);
      if (checked.drain() != null) {
        checked.drain().settle(checked.database(), checked.fingerprint(), status == RunStatus.COMPLETE);
        depth = checked.drain().depth(checked.database());
      }
    } catch (SQLException e) {
      LOG.warn("Could not count the rows still pending: {}", e.getMessage());
      stillPending = -1;
    }
    IndexBuild index = null;
    if (status == RunStatus.COMPLETE && checked.hnswIndex()) {
      try {
        index = buildHnswIndex(checked);
      } catch (SQLException e) {
        LOG.error("--hnswIndex: the index build failed: {}", e.getMessage());
        return new Outcome(RunStatus.FAILED, "the HNSW index build failed: " + e.getMessage(), stillPending, null,
            depth);
      }
    }
    return new Outcome(status, error, stillPending, index, depth);
  }

  /** Rows pending now (a second look, after a run). */
  private static long countPending(Preflight.Checked checked) throws SQLException {
    try (Connection c = checked.database().connectReadOnly();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(checked.tables().countPendingQuery(checked.fingerprint()))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * Creates the target's HNSW index when it has none (after a complete run: one build over every vector, faster
   * than keeping an index up to date row by row). Returns the index's name and build seconds; the seconds are 0
   * when it existed.
   */
  private static IndexBuild buildHnswIndex(Preflight.Checked checked) throws SQLException {
    EmbeddingTables tables = checked.tables();
    try (Connection c = checked.database().connect()) {
      String existing = hnswIndex(c, tables);
      if (existing != null) {
        LOG.info("--hnswIndex: {} already has {}", tables.names().target(), existing);
        return new IndexBuild(existing, 0, false);
      }
      long t0 = System.nanoTime();
      try (Statement s = c.createStatement()) {
        s.execute(tables.createHnswIndexStatement(checked.layout()));
        // Fresh statistics after a full run: the planner then knows the table's size and picks the index.
        s.execute("ANALYZE " + tables.names().target().quoted());
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      String name = hnswIndex(c, tables);
      LOG.info("--hnswIndex: built {} in {} s", name, String.format("%.1f", seconds));
      return new IndexBuild(name, seconds, true);
    }
  }

  private static String hnswIndex(Connection c, EmbeddingTables tables) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(tables.hnswIndexQuery())) {
      ps.setString(1, tables.names().target().regclass());
      ps.setString(2, tables.names().embeddingColumn().name());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }
}
