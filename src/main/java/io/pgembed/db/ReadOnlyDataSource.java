package io.pgembed.db;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * A pool's connections in read-only transactions (autocommit off, read-only on): what reads the user's source runs
 * on. The pool resets each connection when it is closed.
 */
final class ReadOnlyDataSource extends FixedLoginDataSource {
  private final DataSource pool;

  ReadOnlyDataSource(DataSource pool) {
    this.pool = pool;
  }

  @Override
  public Connection getConnection() throws SQLException {
    Connection c = pool.getConnection();
    try {
      c.setAutoCommit(false);
      c.setReadOnly(true);
      return c;
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }
}
