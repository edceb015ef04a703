package io.pgembed.capture;

import io.pgembed.db.Catalog;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Layout;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run's drain of a {@link ChangeLog}: the entries up to {@code maxSeq} when the run began. A run whose model has
 * not yet scanned the whole source since the log exists ({@code priming}: the log's first run, or a new model's
 * fingerprint) scans it once; later runs read only the rows the log names, and prune only its deletes (the whole
 * target after a TRUNCATE). Entries are removed ({@link #settle}) only after the run, and only those whose row is no
 * longer pending: a run killed midway leaves them all, and a row that failed with attempts left keeps its entry.
 *
 * <pre>{@code
 * LogDrain drain = LogDrain.begin(connection, log, tables, fingerprint);
 * EmbeddingTables pending = drain.restrict(tables);
 * ... run ...
 * drain.settle(database, fingerprint, complete);
 * }</pre>
 */
public record LogDrain(ChangeLog log, EmbeddingTables tables, long maxSeq, boolean priming, boolean truncated)
    implements Serializable {
  private static final Logger LOG = LoggerFactory.getLogger(LogDrain.class);

  /**
   * Refuses, before anything changes, a log that is missing when this user may not create it: the error names the
   * owner, the privilege and the command that prints the statements for a DBA.
   */
  public static boolean checkInstallable(Connection c, ChangeLog log) throws SQLException {
    if (installed(c, log)) {
      return false;
    }
    Catalog.Ownership who = Catalog.ownership(c, log.names().source());
    if (!who.mayCreate()) {
      throw new IllegalArgumentException("--changeCapture=trigger needs a change log and triggers on "
          + log.names().source() + (exists(c, log) ? " (" + log.log() + " is there, but of an older layout that"
          + " this version upgrades)" : "") + ", which only its owner (" + who.owner() + ") may create, and user "
          + who.user() + " is not a member of that role. Have the owner run the statements that"
          + " 'runners/direct.sh capture-sql --jdbcUrl=... --sourceTable=" + log.names().source() + " --username="
          + who.user() + "' prints, then run again");
    }
    return true;
  }

  private static boolean exists(Connection c, ChangeLog log) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      ps.setString(1, log.log().regclass());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /**
   * Creates the log, its state table and the triggers, or brings an older log to this layout, in one transaction
   * (the user owns the source).
   */
  public static void install(Connection c, ChangeLog log, Layout layout) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      Database.executeAll(c, log.ddl(layout));
      c.commit();
    } catch (SQLException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
    LOG.info("Installed the change log {} and its triggers on {}", log.log(), log.names().source());
  }

  /** Whether the log (of this layout: its ids in an array), its state table and all four triggers are there. */
  static boolean installed(Connection c, ChangeLog log) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL AND to_regclass(?) IS NOT NULL"
        + " AND (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(?) AND tgname = ANY(?)) = 4"
        + " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = 'ids'"
        + " AND NOT attisdropped)")) {
      ps.setString(1, log.log().regclass());
      ps.setString(2, log.state().regclass());
      ps.setString(3, log.names().source().regclass());
      ps.setArray(4, c.createArrayOf("text", log.triggerNames().toArray()));
      ps.setString(5, log.log().regclass());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** Reads the log's head and whether {@code fingerprint} has scanned the source since the log exists. */
  public static LogDrain begin(Connection c, ChangeLog log, EmbeddingTables tables, String fingerprint)
      throws SQLException {
    Head head = head(c, log);
    String scanned;
    try (PreparedStatement ps = c.prepareStatement(log.scannedModelQuery())) {
      ps.setString(1, tables.names().target().toString());
      try (ResultSet rs = ps.executeQuery()) {
        scanned = rs.next() ? rs.getString(1) : null;
      }
    }
    boolean priming = !fingerprint.equals(scanned);
    if (priming) {
      LOG.info("--changeCapture=trigger: {} has not scanned {} since its change log exists: this run scans it once,"
          + " later runs read the log", fingerprint, tables.names().source());
    }
    return new LogDrain(log, tables, head.seq(), priming, head.truncated());
  }

  /** The log's newest sequence number (0: empty), and whether a TRUNCATE is queued up to it. */
  record Head(long seq, boolean truncated) {}

  static Head head(Connection c, ChangeLog log) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(log.headQuery())) {
      rs.next();
      return new Head(rs.getLong(1), rs.getBoolean(2));
    }
  }

  /** The log's depth now. */
  public ChangeLog.Depth depth(Database database) throws SQLException {
    try (Connection c = database.connect()) {
      return ChangeLog.depth(c, log.log().quoted());
    }
  }

  /** The tables a run reads: every row while priming, else only the rows the log names. */
  public EmbeddingTables restrict(EmbeddingTables all) {
    return priming ? all : all.onlyIds(log.upsertedIds(maxSeq));
  }

  /** The ids a prune looks at (a subquery of ids), or null for all of them (priming, or after a TRUNCATE). */
  public String pruneIds() {
    return priming || truncated ? null : log.deletedIds(maxSeq);
  }

  /**
   * After the run: removes the entries it settled; a priming run that completed records that {@code fingerprint}
   * has scanned the source, so later runs read the log. Returns the entries up to {@code maxSeq} that stay (rows
   * still pending: in flight, or failed with attempts left).
   */
  public long settle(Database database, String fingerprint, boolean complete) throws SQLException {
    String pending = tables.onlyIds(log.upsertedIds(maxSeq)).pendingQuery(fingerprint);
    try (Connection c = database.connect()) {
      long removed;
      long left;
      try (Statement s = c.createStatement()) {
        removed = s.executeUpdate(log.settleStatement(maxSeq, pending));
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM " + log.log().quoted() + " WHERE seq <= " + maxSeq)) {
          rs.next();
          left = rs.getLong(1);
        }
      }
      if (priming && complete) {
        try (PreparedStatement ps = c.prepareStatement(log.recordScanStatement())) {
          ps.setString(1, tables.names().target().toString());
          ps.setString(2, fingerprint);
          ps.executeUpdate();
        }
      }
      if (removed > 0) {
        LOG.debug("--changeCapture=trigger: {} log entries settled (up to {}), {} stay", removed, maxSeq, left);
      }
      return left;
    }
  }
}
