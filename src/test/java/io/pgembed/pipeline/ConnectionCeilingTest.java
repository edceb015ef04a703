package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import io.pgembed.db.Database;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * A connection ceiling (a role's CONNECTION LIMIT, enforced by the server): one pool per JVM keeps a run with many
 * parallel readers and writers under it; a pool with every connection taken, or a server at its ceiling, fails
 * with a message that names the cause instead of hanging.
 */
public class ConnectionCeilingTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  /** A database owned by {@code role}, a non-superuser that may open at most {@code limit} connections. */
  private static String databaseFor(String role, int limit) throws SQLException {
    String admin = TestDatabase.newDatabase(role);
    execute(admin, "CREATE ROLE " + role + " LOGIN CONNECTION LIMIT " + limit);
    String name = admin.replaceAll(".*/([a-z0-9_]+)(\\?.*)?$", "$1");
    execute(admin, "ALTER DATABASE " + name + " OWNER TO " + role + "; ALTER SCHEMA public OWNER TO " + role);
    return admin;
  }

  /**
   * Counts the role's sessions on the server (as the administrator) every few milliseconds until closed, and keeps
   * the most seen: the pool's bound, observed from outside while a run goes on.
   */
  private static final class SessionSampler implements AutoCloseable {
    private final Thread thread;
    private volatile boolean stop;
    private volatile long most;

    SessionSampler(String adminUrl, String role) {
      thread = new Thread(() -> {
        try (Connection c = DriverManager.getConnection(adminUrl);
            java.sql.PreparedStatement ps =
                c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE usename = ?")) {
          ps.setString(1, role);
          while (!stop) {
            try (java.sql.ResultSet rs = ps.executeQuery()) {
              rs.next();
              most = Math.max(most, rs.getLong(1));
            }
            Thread.sleep(5); // the sampling interval
          }
        } catch (SQLException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      thread.start();
    }

    long most() {
      return most;
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(10_000);
    }
  }

  @Test
  public void aFlinkRunWithSixSubtasksAStepStaysWithinAPoolOfFour() throws Exception {
    // The role may open 12 connections: what keeps the run at 4 is the pool, not the server.
    String db = databaseFor("ceiling4", 12);
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text); ALTER TABLE docs OWNER TO ceiling4");
    Map<Long, String> rows = new LinkedHashMap<>();
    for (long i = 0; i < 600; i++) {
      rows.put(i, "row " + i + " under a connection ceiling " + "x ".repeat((int) (i % 7)));
    }
    insert(db, "docs", rows);
    // Flink (in this JVM) with six subtasks per step and six partitioned reads: more than four connections at once
    // without the pool, and one JVM, so one pool for all of them.
    EmbeddingPipelineOptions o = options(db, "--sourceTable=docs", "--username=ceiling4", "--maxPoolSize=4",
        "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=6", "--readPartitions=6", "--batchSize=8",
        "--writeBatchSize=7");
    RunReport r;
    try (SessionSampler sessions = new SessionSampler(db, "ceiling4")) {
      r = PipelineTestSupport.runWhole(o, MODEL);
      sessions.close();
      assertThat("sessions of the role at once", sessions.most(), org.hamcrest.Matchers.lessThanOrEqualTo(4L));
      assertThat("the run used the database", sessions.most(), org.hamcrest.Matchers.greaterThanOrEqualTo(1L));
    }
    assertEquals(r.error(), RunStatus.COMPLETE, r.status());
    assertEquals(600, r.embedded());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(600, stored.size());
    for (Map.Entry<Long, String> e : rows.entrySet()) {
      assertArrayEquals("row " + e.getKey(), MODEL.vectorOf(e.getValue()), stored.get(e.getKey().toString()), 0f);
    }
  }

  @Test
  public void twelveConcurrentStepsShareAPoolOfFour() throws Exception {
    // The role may open 8 connections, twice the pool: only the pool keeps the steps at 4.
    String db = databaseFor("ceiling4b", 8);
    javax.sql.DataSource pool = new Database(db, "ceiling4b", null, 4).dataSource();
    java.util.concurrent.ExecutorService steps = java.util.concurrent.Executors.newFixedThreadPool(12);
    try {
      List<java.util.concurrent.Future<Long>> seen = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        seen.add(steps.submit(() -> {
          // Each step holds its connection 300 ms and counts the role's sessions meanwhile.
          try (Connection c = pool.getConnection();
              java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT pg_sleep(0.3), (SELECT count(*)"
                  + " FROM pg_stat_activity WHERE usename = 'ceiling4b')")) {
            rs.next();
            return rs.getLong(2);
          }
        }));
      }
      long most = 0;
      for (java.util.concurrent.Future<Long> f : seen) {
        most = Math.max(most, f.get(60, java.util.concurrent.TimeUnit.SECONDS)); // each step succeeded
      }
      assertThat("sessions of the role at once", most, org.hamcrest.Matchers.lessThanOrEqualTo(4L));
    } finally {
      steps.shutdownNow();
    }
  }

  @Test
  public void aPoolWithEveryConnectionTakenFailsNamingThePoolNotHangs() throws Exception {
    String db = TestDatabase.newDatabase("exhausted");
    System.setProperty("pgembed.connectionTimeoutMs", "1500");
    List<Connection> held = new ArrayList<>();
    try {
      Database database = new Database(db, null, null, 2);
      held.add(database.connect());
      held.add(database.connect());
      long t0 = System.nanoTime();
      try (Connection third = database.connect()) {
        fail("a third connection from a pool of 2: " + third);
      } catch (SQLException e) {
        assertThat(e.getMessage(), containsString("No free connection to localhost:"));
        assertThat(e.getMessage(), containsString("all 2 of this JVM's pool are in use (active 2, waiting"));
        assertThat(e.getMessage(), containsString("Raise --maxPoolSize"));
      }
      assertThat((System.nanoTime() - t0) / 1e9, lessThan(10.0));
    } finally {
      for (Connection c : held) {
        c.close();
      }
      System.clearProperty("pgembed.connectionTimeoutMs");
    }
  }

  @Test
  public void aServerAtItsCeilingIsNamedWithItsSqlState() throws Exception {
    String db = databaseFor("ceiling1", 1);
    System.setProperty("pgembed.connectionTimeoutMs", "1500");
    try (Connection other = DriverManager.getConnection(db.replace("user=postgres", "user=ceiling1"))) {
      Database database = new Database(db, "ceiling1", null, 3);
      try (Connection c = database.connect()) {
        fail("the role's one connection is taken: " + c);
      } catch (SQLException e) {
        assertThat(e.getMessage(), containsString("refused a new connection"));
        assertThat(e.getMessage(), containsString("SQLState 53300"));
        assertThat(e.getMessage(), containsString("Lower --maxPoolSize"));
      }
    } finally {
      System.clearProperty("pgembed.connectionTimeoutMs");
    }
  }
}
