package io.pgembed.db;

import io.pgembed.Await;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Holds a job's writes to its target once it holds {@code rows} vectors, across processes (a worker or a Flink
 * TaskManager in a JVM of its own): a row trigger on the target waits for an advisory lock this gate holds. A kill
 * test then kills the job while it is held midway, whatever the machine's speed, instead of racing it. The target
 * and failures tables are created first, as the job would create them (one vector of {@code dimension} per row).
 *
 * <pre>{@code
 * try (WriteGate gate = WriteGate.closedAfter(db, "big", 384, 200)) { start the job; gate.awaitHeld(120); kill it; }
 * }</pre>
 */
public final class WriteGate implements AutoCloseable {
  private final String jdbcUrl;
  private final SqlIdentifier target;
  private final long key;
  private Connection holder;

  private WriteGate(String jdbcUrl, SqlIdentifier target, long key, Connection holder) {
    this.jdbcUrl = jdbcUrl;
    this.target = target;
    this.key = key;
    this.holder = holder;
  }

  public static WriteGate closedAfter(String jdbcUrl, String source, int dimension, int rows) throws SQLException {
    EmbeddingTables tables = new EmbeddingTables(
        TableNames.of(source, "id", "content", null, null, "embedding", "embedding_failures"), 3, 100);
    SqlIdentifier target = tables.names().target();
    long key = target.toString().hashCode();
    Connection holder = DriverManager.getConnection(jdbcUrl);
    try (Statement s = holder.createStatement()) {
      EmbeddingSchema.prepare(holder, tables, dimension);
      s.execute("SELECT pg_advisory_lock(" + key + ")");
      s.execute("CREATE FUNCTION write_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
          + " IF (SELECT count(*) FROM " + target.quoted() + ") >= " + rows + " THEN"
          + " PERFORM pg_advisory_xact_lock_shared(" + key + "); END IF; RETURN NEW; END $$");
      s.execute("CREATE TRIGGER write_gate BEFORE INSERT ON " + target.quoted()
          + " FOR EACH ROW EXECUTE FUNCTION write_gate()");
    } catch (SQLException e) {
      holder.close();
      throw e;
    }
    return new WriteGate(jdbcUrl, target, key, holder);
  }

  /** Waits (at most {@code seconds}) until a write of the job waits at the gate. */
  public void awaitHeld(int seconds) throws InterruptedException {
    Await.await("a write of " + target + " to wait at the gate", seconds, () -> {
      try {
        return TestDatabase.count(jdbcUrl, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            + " AND objid = " + (key & 0xffffffffL)) > 0;
      } catch (SQLException e) {
        return false;
      }
    });
  }

  /** Lets the writes through from now on: the trigger is gone and the lock released. */
  public void open() throws SQLException {
    if (holder != null) {
      // The lock first: a held write holds the target's row-exclusive lock, which DROP TRIGGER would wait for.
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_unlock(" + key + ")");
        s.execute("DROP TRIGGER IF EXISTS write_gate ON " + target.quoted());
        s.execute("DROP FUNCTION IF EXISTS write_gate()");
      }
      holder.close();
      holder = null;
    }
  }

  @Override
  public void close() throws SQLException {
    open();
  }
}
