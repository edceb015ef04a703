package io.pgembed.search;

import io.pgembed.db.Catalog;
import io.pgembed.db.TextSearchSql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --textSearchIndex}: the source's GIN index on {@code to_tsvector(config, text)}, which hybrid search's
 * full-text side reads. Checked before the run changes anything (a role that does not own the source is refused
 * with the statement for its owner), created once the checks passed.
 *
 * <pre>{@code
 * boolean create = TextSearchIndex.check(c, fts); // throws when it is missing and this role may not create it
 * if (create) TextSearchIndex.create(c, fts);
 * }</pre>
 */
public final class TextSearchIndex {
  private static final Logger LOG = LoggerFactory.getLogger(TextSearchIndex.class);

  private TextSearchIndex() {}

  /** Whether the index must be created: false when there is one; throws when this role may not create it. */
  public static boolean check(Connection c, TextSearchSql fts) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_ts_config WHERE cfgname = ?")) {
      ps.setString(1, fts.config().contains(".") ? fts.config().substring(fts.config().indexOf('.') + 1) : fts.config());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new IllegalArgumentException("--textSearchConfig=" + fts.config() + " is not a text search"
              + " configuration of this database (SELECT cfgname FROM pg_ts_config lists them; english is the default)");
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement(fts.indexExistsQuery())) {
      ps.setString(1, fts.names().source().regclass());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getBoolean(1)) {
          return false;
        }
      }
    }
    Catalog.Ownership who = Catalog.ownership(c, fts.names().source());
    if (!who.mayCreate()) {
      throw new IllegalArgumentException("--textSearchIndex=true needs an index on " + fts.names().source()
          + ", which only its owner (" + who.owner() + ") may create, and user " + who.user() + " is not a member of"
          + " that role. Have the owner run: " + fts.createIndexStatement() + "; then run again");
    }
    return true;
  }

  /** Creates it without blocking the source's writers (outside a transaction block). */
  public static void create(Connection c, TextSearchSql fts) throws SQLException {
    long t0 = System.nanoTime();
    try (Statement s = c.createStatement()) {
      s.execute(fts.createIndexStatement());
    }
    LOG.info("Created the full-text index {} on {} in {} s", fts.indexName(), fts.names().source(),
        String.format("%.1f", (System.nanoTime() - t0) / 1e9));
  }
}
