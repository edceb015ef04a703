package io.pgembed.db;

import java.io.Serializable;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Where the database is: the JDBC URL, the user and where the password comes from, but never the password itself,
 * so this can travel inside a pipeline. Each JVM builds one DataSource per configuration and resolves the password
 * there ({@link PasswordSource}).
 *
 * <pre>{@code
 * Database db = new Database("jdbc:postgresql://localhost:5432/app", "embedder", null);
 * try (Connection c = db.connect()) { ... }
 * }</pre>
 */
public record Database(String jdbcUrl, String username, String passwordFile, int maxPoolSize)
    implements Serializable {
  /** Connections per JVM when --maxPoolSize is not given. */
  public static final int DEFAULT_POOL_SIZE = 10;
  /**
   * How long a step waits for a free connection (or for the server to accept one) before it fails: 30 s, or the
   * system property {@code pgembed.connectionTimeoutMs} (read when a pool opens).
   */
  static long connectionTimeoutMs() {
    return Long.getLong("pgembed.connectionTimeoutMs", 30_000);
  }
  private static final Map<Database, PooledDataSource> DATA_SOURCES = new ConcurrentHashMap<>();

  public Database {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "--jdbcUrl must be a PostgreSQL JDBC URL such as jdbc:postgresql://host:5432/db, but was '"
              + redact(jdbcUrl) + "'");
    }
    if (jdbcUrl.toLowerCase().contains("password=")) {
      throw new IllegalArgumentException(
          "--jdbcUrl must not carry the password (it would show in logs and the runner's UI): use PGPASSWORD,"
              + " --passwordFile or ~/.pgpass");
    }
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException("--maxPoolSize must be >= 1, but was " + maxPoolSize);
    }
  }

  /** With the default pool size. */
  public Database(String jdbcUrl, String username, String passwordFile) {
    this(jdbcUrl, username, passwordFile, DEFAULT_POOL_SIZE);
  }

  /**
   * This JVM's pool of at most {@link #maxPoolSize} connections for this configuration (HikariCP, opened lazily, no
   * idle connections kept past 30 s). Its errors name the cause: the server unreachable or refusing the login, the
   * server's max_connections reached, or every pooled connection in use.
   */
  public DataSource dataSource() {
    return DATA_SOURCES.computeIfAbsent(this, Database::pooled);
  }

  /**
   * A pooled connection; a failure to connect (unreachable, refused login, no such database) is a
   * {@link DatabaseUnavailableException} whose message names the host, port and database.
   */
  public Connection connect() throws SQLException {
    return dataSource().getConnection();
  }

  /**
   * A pooled connection whose transactions are read-only (autocommit off): what reads the source runs on it, so a
   * {@code --sourceQuery} that tries to write (a data-modifying CTE, a function with a side effect) fails with
   * SQLState 25006 instead of changing data. The pool resets the connection when it is closed.
   */
  public Connection connectReadOnly() throws SQLException {
    return readOnlyDataSource().getConnection();
  }

  /** {@link #connectReadOnly()}'s connections as a DataSource, for JdbcIO's reads. */
  public DataSource readOnlyDataSource() {
    return new ReadOnlyDataSource(dataSource());
  }

  /** Work on a connection that may throw SQLException. */
  public interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code work} on {@code c} inside one read-only transaction, rolled back afterwards, and leaves {@code c}
   * as it was: how a connection that also writes reads the user's SQL.
   */
  public static <T> T readOnly(Connection c, SqlWork<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    if (autoCommit) {
      c.setAutoCommit(false);
    } else {
      c.commit(); // a read-only flag cannot change inside a transaction
    }
    c.setReadOnly(true);
    Exception failure = null;
    try {
      return work.run(c);
    } catch (SQLException | RuntimeException e) {
      failure = e;
      throw e;
    } finally {
      try {
        if (!c.isClosed()) { // the pool closes a connection after a fatal error: nothing to reset then
          c.rollback();
          c.setReadOnly(false);
          c.setAutoCommit(autoCommit);
        }
      } catch (SQLException e) {
        if (failure == null) {
          throw e;
        }
        failure.addSuppressed(e);
      }
    }
  }

  /** Runs {@code statements} in order on {@code c}; returns each one's count of rows changed. */
  public static long[] executeAll(Connection c, java.util.List<String> statements) throws SQLException {
    long[] counts = new long[statements.size()];
    try (java.sql.Statement s = c.createStatement()) {
      for (int i = 0; i < counts.length; i++) {
        counts[i] = s.executeUpdate(statements.get(i));
      }
    }
    return counts;
  }

  /**
   * Why this URL may send the password and the data in plain text, or null: a server off the loopback reached
   * without {@code sslmode=verify-full} (or {@code verify-ca}). pgjdbc's default, {@code prefer}, falls back to
   * plain text without a word when the server offers no TLS, and {@code require} does not check who answers.
   */
  public String tlsWarning() {
    String query = jdbcUrl.contains("?") ? jdbcUrl.substring(jdbcUrl.indexOf('?') + 1) : "";
    String mode = null;
    for (String kv : query.split("&")) {
      if (kv.toLowerCase(java.util.Locale.ROOT).startsWith("sslmode=")) {
        mode = kv.substring("sslmode=".length()).toLowerCase(java.util.Locale.ROOT);
      }
    }
    if ("verify-full".equals(mode) || "verify-ca".equals(mode) || loopback()) {
      return null;
    }
    return "--jdbcUrl reaches " + host() + ":" + port() + " with sslmode=" + (mode == null ? "prefer (the default)" : mode)
        + ": the password and the data may cross the network unencrypted, or to a server nobody checked. Add"
        + " sslmode=verify-full (and sslrootcert=...) to the URL (README, \"TLS\")";
  }

  private boolean loopback() {
    String h = host();
    if (h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]") || h.equals("::1")) {
      return true;
    }
    try {
      return java.net.InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /**
   * A connection of its own, outside the pool: for one that stays open and idle, such as a {@code LISTEN}. The
   * caller closes it.
   */
  public Connection connectUnpooled() throws SQLException {
    try {
      return DATA_SOURCES.computeIfAbsent(this, Database::pooled).unpooled().getConnection();
    } catch (SQLException e) {
      throw DatabaseUnavailableException.of(e, where(), effectiveUser()).map(SQLException.class::cast).orElse(e);
    }
  }

  /**
   * Opens and closes one connection outside the pool, so that a server that is down or refuses the login fails in
   * a second (the pool would keep trying for {@link #connectionTimeoutMs()}): what a run does first.
   */
  public void checkReachable() throws SQLException {
    try (Connection c = DATA_SOURCES.computeIfAbsent(this, Database::pooled).unpooled().getConnection()) {
      c.isValid(5);
    } catch (SQLException e) {
      throw DatabaseUnavailableException.of(e, where(), effectiveUser()).map(SQLException.class::cast).orElse(e);
    }
  }

  private URI uri() {
    return URI.create(jdbcUrl.substring("jdbc:".length()));
  }

  /** The server's host, as the URL names it (localhost when it names none). */
  public String host() {
    return uri().getHost() == null ? "localhost" : uri().getHost();
  }

  public int port() {
    return uri().getPort() < 0 ? 5432 : uri().getPort();
  }

  public String databaseName() {
    String path = uri().getPath();
    return path == null || path.length() <= 1 ? "" : path.substring(1);
  }

  /** The user the driver logs in as: --username, else the OS user (as libpq and pgjdbc do). */
  public String effectiveUser() {
    return username != null ? username : System.getProperty("user.name");
  }

  /** {@code host:port/database}, for messages. */
  public String where() {
    return host() + ":" + port() + "/" + databaseName();
  }

  /** This configuration's pool (opened at its first connection) over its one unpooled driver source. */
  private static PooledDataSource pooled(Database db) {
    return new PooledDataSource(db.where(), db.effectiveUser(), db.maxPoolSize, connectionTimeoutMs(), unpooled(db));
  }

  private static PGSimpleDataSource unpooled(Database db) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(db.jdbcUrl);
    if (db.username != null) {
      ds.setUser(db.username);
    }
    String password =
        PasswordSource.resolve(db.passwordFile, db.host(), db.port(), db.databaseName(), db.effectiveUser());
    if (password != null) {
      ds.setPassword(password);
    }
    ds.setApplicationName("pg-embeddings");
    return ds;
  }

  /** The URL with any query string dropped, for messages. */
  public static String redact(String url) {
    if (url == null) {
      return null;
    }
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q) + "?…";
  }

  @Override
  public String toString() {
    return "Database[" + redact(jdbcUrl) + ", user " + username + ", pool " + maxPoolSize + "]";
  }
}
