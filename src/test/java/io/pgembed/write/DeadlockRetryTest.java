package io.pgembed.write;

import io.pgembed.db.Layout;
import static io.pgembed.PipelineTestSupport.execute;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.RowKey;
import io.pgembed.db.TableNames;
import io.pgembed.db.TestDatabase;
import io.pgembed.embed.VectorCoder;
import io.pgembed.PipelineTestSupport;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * A real deadlock (40P01) and a real serialization failure (40001) between the job's upsert batch and another
 * transaction on the same target rows: PostgreSQL aborts the job's batch, and the writer rolls it back and writes
 * it again; the table ends exact. For both write methods: JdbcIO's statements and the COPY path.
 */
@RunWith(Parameterized.class)
public class DeadlockRetryTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Parameterized.Parameters(name = "{0}")
  public static List<WriteMethod> methods() {
    return List.of(WriteMethod.STATEMENTS, WriteMethod.COPY);
  }

  @Parameterized.Parameter public WriteMethod method;

  private static final String FP = "test-model sha256:1111";

  private static long deadlocks(String db) {
    try {
      return TestDatabase.count(db, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether another session holds target row {@code id}: a NOWAIT lock attempt from a third session fails. */
  private static boolean locked(String db, int id) throws java.sql.SQLException {
    try (Connection probe = PipelineTestSupport.connect(db);
        Statement s = probe.createStatement()) {
      s.executeQuery("SELECT 1 FROM docs_embeddings WHERE artifact_id = " + id + " FOR UPDATE NOWAIT").close();
      return false;
    } catch (java.sql.SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        return true;
      }
      throw e;
    }
  }


  static final class ThreeRows extends DoFn<Integer, KV<RowKey, float[]>> {
    @ProcessElement
    public void process(@Element Integer n, OutputReceiver<KV<RowKey, float[]>> out) {
      for (int i = 1; i <= n; i++) {
        out.output(KV.of(new RowKey(Integer.toString(i), new byte[] {(byte) i}), new float[] {i, 1f / (1 << i)}));
      }
    }
  }

  /** A source table and a target of 2-d vectors holding rows 1, 2, 3 of an old model. */
  private static EmbeddingTables threeOldVectors(String db) throws Exception {
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    EmbeddingTables tables = new EmbeddingTables(
        TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures"), 3, 100);
    try (Connection c = PipelineTestSupport.connect(db)) {
      EmbeddingSchema.prepare(c, tables, 2);
    }
    execute(db, "INSERT INTO docs_embeddings (artifact_id, embedding, model) VALUES (1, '{0,0}', 'old'),"
        + " (2, '{0,0}', 'old'), (3, '{0,0}', 'old')");
    return tables;
  }

  /** The job's batch of rows 1, 2, 3: one element made into three rows in one step (one bundle, one transaction). */
  private CompletableFuture<Void> writeThreeRows(String db, EmbeddingTables tables) {
    Layout layout = new Layout(io.pgembed.db.IdType.BIGINT, io.pgembed.db.VectorType.REAL_ARRAY, 2);
    p.apply(Create.of(3))
        .apply(ParDo.of(new ThreeRows()))
        .setCoder(KvCoder.of(RowKey.Coder.of(), VectorCoder.of()))
        .apply(VectorWriter.upserts(new Database(db, null, null), tables, layout, FP, 3, method));
    return CompletableFuture.runAsync(() -> p.run().waitUntilFinish());
  }

  /** Every row ends with the job's vector of it, exactly. */
  private static void assertThreeNewVectors(String db) throws Exception {
    Map<String, float[]> stored = PipelineTestSupport.vectors(db, "docs_embeddings");
    assertArrayEquals(new float[] {1f, 0.5f}, stored.get("1"), 0f);
    assertArrayEquals(new float[] {2f, 0.25f}, stored.get("2"), 0f);
    assertArrayEquals(new float[] {3f, 0.125f}, stored.get("3"), 0f);
    assertEquals(3, TestDatabase.count(db, "SELECT count(*) FROM docs_embeddings WHERE model = '" + FP + "'"));
  }

  @Test
  public void aBatchThatLosesADeadlockIsWrittenAgain() throws Exception {
    String db = TestDatabase.newDatabase("deadlock");
    EmbeddingTables tables = threeOldVectors(db);
    long deadlocksBefore = deadlocks(db);

    try (Connection other = PipelineTestSupport.connect(db)) {
      other.setAutoCommit(false);
      Statement s = other.createStatement();
      s.execute("SET deadlock_timeout = '60s'"); // so the job's session, not this one, finds the deadlock
      s.execute("UPDATE docs_embeddings SET model = 'other' WHERE artifact_id = 2");

      // The job's batch of rows 1, 2, 3: it takes row 1 or 3 (whichever it writes first), then waits for row 2.
      CompletableFuture<Void> job = writeThreeRows(db, tables);

      io.pgembed.Await.await("the job's batch waiting for row 2", 60, () -> TestDatabase.lockWaits(db) == 1);
      String held = locked(db, 1) ? "1" : locked(db, 3) ? "3" : null;
      assertTrue("the job holds row 1 or row 3 while it waits", held != null);
      // Now this transaction waits for the row the job holds, while the job waits for row 2: a deadlock.
      s.execute("UPDATE docs_embeddings SET model = 'other' WHERE artifact_id = " + held);
      other.commit();
      job.get(120, TimeUnit.SECONDS);
    }
    // The server counts it once the aborted session reports its statistics (within a few seconds).
    io.pgembed.Await.await("the server's count of deadlocks", 30, () -> deadlocks(db) == deadlocksBefore + 1);
    assertThreeNewVectors(db);
  }

  private static long rollbacks(String db) {
    try {
      return TestDatabase.count(db, "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A database whose sessions run at REPEATABLE READ (as some are configured): the job's batch waits for a row
   * another transaction updates and commits, so PostgreSQL aborts the batch with 40001 (could not serialize access
   * due to concurrent update); the writer rolls it back and writes it again, and the table ends exact.
   */
  @Test
  public void aBatchThatLosesASerializationCheckIsWrittenAgain() throws Exception {
    String db = TestDatabase.newDatabase("serialization");
    EmbeddingTables tables = threeOldVectors(db);
    execute(db, "ALTER DATABASE " + db.replaceAll(".*/([a-z0-9_]+)(\\?.*)?$", "$1")
        + " SET default_transaction_isolation = 'repeatable read'");
    long rollbacksBefore = rollbacks(db);
    try (Connection other = PipelineTestSupport.connect(db)) {
      other.setAutoCommit(false);
      Statement s = other.createStatement();
      s.execute("UPDATE docs_embeddings SET model = 'other' WHERE artifact_id = 2");

      CompletableFuture<Void> job = writeThreeRows(db, tables);

      io.pgembed.Await.await("the job's batch waiting for row 2", 60, () -> TestDatabase.lockWaits(db) == 1);
      other.commit(); // row 2 changed after the batch's snapshot: the batch cannot be serialized
      job.get(120, TimeUnit.SECONDS);
    }
    io.pgembed.Await.await("the server's count of rolled-back transactions", 30,
        () -> rollbacks(db) >= rollbacksBefore + 1);
    assertThreeNewVectors(db);
  }
}
