package io.pgembed.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * One JVM's connection pool for one database configuration: HikariCP over pgjdbc, at most {@code --maxPoolSize}
 * connections, none kept idle past 30 s, and closed (its housekeeping thread ended) after a minute unused, so a job
 * classloader on a Flink TaskManager leaves no thread behind; the next use opens it again. A connection that cannot
 * be had within 30 s is an error that says why: the server unreachable or refusing the login
 * ({@link DatabaseUnavailableException}), its max_connections reached, or every connection of this pool in use.
 */
final class PooledDataSource extends FixedLoginDataSource {
  private static final AtomicInteger POOLS = new AtomicInteger();
  private static final long CLOSE_UNUSED_AFTER_MS = 60_000;
  private final String where;
  private final String user;
  private final int maxPoolSize;
  private final long connectionTimeoutMs;
  private final PGSimpleDataSource unpooled;
  private HikariDataSource pool;
  private long lastUse;

  /**
   * A pool of at most {@code maxPoolSize} connections of {@code unpooled} to {@code where} ({@code host:port/db}, for
   * messages) as {@code user}, waiting at most {@code connectionTimeoutMs} for one.
   */
  PooledDataSource(String where, String user, int maxPoolSize, long connectionTimeoutMs, PGSimpleDataSource unpooled) {
    this.where = where;
    this.user = user;
    this.maxPoolSize = maxPoolSize;
    this.connectionTimeoutMs = connectionTimeoutMs;
    this.unpooled = unpooled;
  }

  /** The driver's own source, outside the pool: one connection, at once, for a reachability check. */
  PGSimpleDataSource unpooled() {
    return unpooled;
  }

  private synchronized HikariDataSource pool() {
    lastUse = System.currentTimeMillis();
    if (pool == null) {
      HikariConfig c = new HikariConfig();
      c.setPoolName("pg-embeddings-" + POOLS.incrementAndGet());
      c.setDataSource(unpooled);
      c.setMaximumPoolSize(maxPoolSize);
      c.setMinimumIdle(0);
      c.setIdleTimeout(30_000);
      c.setConnectionTimeout(connectionTimeoutMs);
      c.setInitializationFailTimeout(-1); // opened lazily: a pool never fails at construction
      pool = new HikariDataSource(c);
      scheduleCloseIfUnused();
    }
    return pool;
  }

  private void scheduleCloseIfUnused() {
    CompletableFuture.delayedExecutor(CLOSE_UNUSED_AFTER_MS, TimeUnit.MILLISECONDS).execute(this::closeIfUnused);
  }

  private synchronized void closeIfUnused() {
    if (pool == null) {
      return;
    }
    boolean idle = pool.getHikariPoolMXBean() == null || pool.getHikariPoolMXBean().getActiveConnections() == 0;
    if (idle && System.currentTimeMillis() - lastUse >= CLOSE_UNUSED_AFTER_MS) {
      pool.close();
      pool = null;
    } else {
      scheduleCloseIfUnused();
    }
  }

  @Override
  public Connection getConnection() throws SQLException {
    HikariDataSource p = pool();
    try {
      return p.getConnection();
    } catch (SQLException e) {
      throw explain(e, p);
    }
  }

  /** The pool's timeout as what it means; other errors as they are. */
  private SQLException explain(SQLException e, HikariDataSource p) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && s != e && s.getSQLState() != null) {
        if (s.getSQLState().equals("53300")) {
          return new SQLException("PostgreSQL at " + where + " refused a new connection: " + s.getMessage()
              + " (SQLState 53300: its max_connections is taken by all its clients). Lower --maxPoolSize (this"
              + " JVM's pool holds at most " + maxPoolSize + "), --workers or --parallelism, or raise"
              + " max_connections.", "53300", e);
        }
        var unavailable = DatabaseUnavailableException.of(s, where, user);
        if (unavailable.isPresent()) {
          return unavailable.get();
        }
      }
    }
    var bean = p.getHikariPoolMXBean();
    if (e instanceof java.sql.SQLTransientConnectionException && bean != null) {
      return new SQLException("No free connection to " + where + " within " + p.getConnectionTimeout()
          + " ms: all " + maxPoolSize + " of this JVM's pool are in use (active "
          + bean.getActiveConnections() + ", waiting " + bean.getThreadsAwaitingConnection() + "). Raise"
          + " --maxPoolSize, or lower --workers, --readPartitions or --parallelism.", null, e);
    }
    return e;
  }
}
