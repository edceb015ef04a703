package io.pgembed.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real PostgreSQL for tests: zonky's embedded server (the binaries come from Maven; as root it runs the server as
 * an unprivileged user), started once per test JVM. Each caller gets a database of its own.
 */
public final class TestDatabase {
  private static EmbeddedPostgres server;
  private static final AtomicInteger COUNTER = new AtomicInteger();

  private TestDatabase() {}

  public static synchronized EmbeddedPostgres server() {
    if (server == null) {
      try {
        server = EmbeddedPostgres.builder().start();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          server.close();
        } catch (IOException ignored) {
          // the JVM is exiting
        }
      }));
    }
    return server;
  }

  /** A new empty database; returns its JDBC URL (user postgres, no password). */
  public static String newDatabase(String prefix) {
    String name = prefix.toLowerCase() + "_" + COUNTER.incrementAndGet();
    try (Connection c = server().getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return server().getJdbcUrl("postgres", name);
  }

  /** The first column of the first row of {@code sql}: a count. */
  public static long count(String jdbcUrl, String sql) throws SQLException {
    try (Connection c = java.sql.DriverManager.getConnection(jdbcUrl);
        Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Sessions of {@code jdbcUrl}'s database waiting for a lock: where a test holds another session's statement. */
  public static long lockWaits(String jdbcUrl) {
    try {
      return count(jdbcUrl, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
          + " AND wait_event_type = 'Lock'");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
