package io.pgembed.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import io.pgembed.pipeline.RunStatus;
import java.util.Map;
import org.junit.Test;

/**
 * The same job on Flink's embedded cluster ([local], parallelism 2) against a real PostgreSQL gives the rows and
 * vectors the DirectRunner gives for the same table.
 */
public class FlinkLocalTest {

  @Test
  public void flinkLocalWithParallelism2WritesWhatTheDirectRunnerWrites() throws Exception {
    String directDb = TestDatabase.newDatabase("direct");
    String flinkDb = TestDatabase.newDatabase("flinklocal");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(directDb, 120);
    assertEquals(rows, FlinkTestRows.createArtifacts(flinkDb, 120));

    RunReport direct = EmbeddingPipeline.run(OptionSources.parse(new String[] {
        "--jdbcUrl=" + directDb, "--device=cpu", "--sourceTable=artifacts", "--workers=2"}, Map.of(),
        EmbeddingPipelineOptions.class));
    RunReport flink = EmbeddingPipeline.run(OptionSources.parse(new String[] {
        "--jdbcUrl=" + flinkDb, "--device=cpu", "--sourceTable=artifacts", "--runner=FlinkRunner",
        "--flinkMaster=[local]", "--parallelism=2", "--workers=2"}, Map.of(), EmbeddingPipelineOptions.class));

    assertEquals(RunStatus.COMPLETE, direct.status());
    assertEquals(RunStatus.COMPLETE, flink.status());
    assertEquals(120, flink.embedded());
    // [local] runs the TaskManager inside this JVM: this process did the embedding.
    assertEquals(java.util.Set.of(EmbeddingMetrics.jvmName()), flink.workers().keySet());
    assertEquals(120, flink.workers().get(EmbeddingMetrics.jvmName()).rowsEmbedded());
    org.junit.Assert.assertTrue("the worker JVM reports its peak RSS",
        flink.workers().get(EmbeddingMetrics.jvmName()).peakRssBytes() > 100L << 20);
    FlinkTestRows.assertEveryRowEmbedded(rows, flinkDb);

    Map<Long, float[]> d = FlinkTestRows.vectors(directDb);
    Map<Long, float[]> f = FlinkTestRows.vectors(flinkDb);
    assertEquals(d.keySet(), f.keySet());
    for (long id : d.keySet()) {
      assertEquals(384, f.get(id).length);
      double worst = 0;
      for (int i = 0; i < 384; i++) {
        worst = Math.max(worst, Math.abs(d.get(id)[i] - f.get(id)[i]));
      }
      // Not bit-equal: rows meet other rows in other padded batches, which moves the last float bits.
      assertThat("id " + id + ": largest difference between the runners' vectors", worst, lessThanOrEqualTo(1e-5));
    }
  }

  /** --chunking=tokens on Flink [local]: the same chunks (places, offsets) and vectors as on the DirectRunner. */
  @Test
  public void chunkingOnFlinkWritesTheChunksTheDirectRunnerWrites() throws Exception {
    Map<String, String> chunks = new java.util.HashMap<>();
    Map<String, float[]> vectors = new java.util.HashMap<>();
    for (String runner : new String[] {"DirectRunner", "FlinkRunner"}) {
      String db = TestDatabase.newDatabase("chunks_" + runner.toLowerCase());
      io.pgembed.PipelineTestSupport.execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
      try (var c = java.sql.DriverManager.getConnection(db);
          var ps = c.prepareStatement("INSERT INTO docs VALUES (?, ?)")) {
        for (int i = 1; i <= 8; i++) {
          ps.setLong(1, i);
          ps.setString(2, io.pgembed.pipeline.ChunkingTest.document(i * 13, 10 + 6 * i));
          ps.addBatch();
        }
        ps.executeBatch();
      }
      RunReport report = EmbeddingPipeline.run(OptionSources.parse(new String[] {
          "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=docs", "--chunking=tokens", "--runner=" + runner,
          "--flinkMaster=[local]", "--parallelism=2", "--workers=2"}, Map.of(), EmbeddingPipelineOptions.class));
      assertEquals(RunStatus.COMPLETE, report.status());
      assertEquals(8, report.read());
      try (var c = java.sql.DriverManager.getConnection(db);
          var rs = c.createStatement().executeQuery("SELECT artifact_id || '/' || chunk_seq, chunk_count || ' '"
              + " || chunk_start || '-' || chunk_end, embedding FROM docs_chunks")) {
        int n = 0;
        while (rs.next()) {
          n++;
          Float[] v = (Float[]) rs.getArray(3).getArray();
          if (runner.equals("DirectRunner")) {
            chunks.put(rs.getString(1), rs.getString(2));
            float[] f = new float[v.length];
            for (int i = 0; i < f.length; i++) {
              f[i] = v[i];
            }
            vectors.put(rs.getString(1), f);
          } else {
            assertEquals(rs.getString(1), chunks.get(rs.getString(1)), rs.getString(2));
            for (int i = 0; i < v.length; i++) {
              assertEquals(rs.getString(1) + "[" + i + "]", vectors.get(rs.getString(1))[i], v[i], 1e-5f);
            }
          }
        }
        assertEquals(report.embedded(), n);
        assertThat("the documents were cut into several chunks each", n, org.hamcrest.Matchers.greaterThan(16));
        if (runner.equals("FlinkRunner")) {
          assertEquals(chunks.size(), n);
        }
      }
    }
  }

  /**
   * Continuous mode on Flink is a streaming job, submitted detached so that the client can stop it: rows inserted
   * and edited while it runs are embedded, and a stop request ends it.
   */
  @Test
  public void continuousModeOnFlinkEmbedsChangesAndStopsWhenAsked() throws Exception {
    String db = TestDatabase.newDatabase("flinkcontinuous");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 20);
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    EmbeddingPipelineOptions o = OptionSources.parse(new String[] {
        "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=artifacts", "--runner=FlinkRunner", "--flinkMaster=[local]",
        "--parallelism=2", "--continuous", "--pollInterval=1s", "--timeout=600000"}, Map.of(),
        EmbeddingPipelineOptions.class);
    assertEquals(Boolean.FALSE, o.as(org.apache.beam.runners.flink.FlinkPipelineOptions.class).getAttachedMode());
    java.util.concurrent.ExecutorService runner = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<RunReport> run = runner.submit(() -> EmbeddingPipeline.run(o, stop::get));
      await(120, () -> TestDatabase.count(db, "SELECT count(*) FROM artifacts_embeddings") == 20, run);
      try (var c = java.sql.DriverManager.getConnection(db)) {
        c.createStatement().execute("INSERT INTO artifacts VALUES (100, 'a row added while the job runs'),"
            + " (101, 'another row, about checkpoints')");
        c.createStatement().execute("UPDATE artifacts SET content = content || ' (edited)' WHERE id IN (3, 4)");
      }
      rows.put(100L, "a row added while the job runs");
      rows.put(101L, "another row, about checkpoints");
      rows.put(3L, rows.get(3L) + " (edited)");
      rows.put(4L, rows.get(4L) + " (edited)");
      String current = "SELECT count(*) FROM artifacts a JOIN artifacts_embeddings e ON e.artifact_id = a.id"
          + " WHERE e.content_sha256 = sha256(convert_to(a.content, 'UTF8'))";
      await(60, () -> TestDatabase.count(db, current) == 22, run);
      stop.set(true);
      RunReport report = run.get(120, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(RunStatus.CANCELLED, report.status());
      // The report's counters stay empty here: Flink hands a running job's accumulators (Beam's metrics) to the
      // client only as tasks end, and a cancelled detached job has none. The table is the record.
      FlinkTestRows.assertEveryRowEmbedded(rows, db);
    } finally {
      stop.set(true);
      runner.shutdownNow();
    }
  }

  /**
   * --changeCapture=trigger in continuous mode on Flink [local]: the log's first drain (its one scan), then changes
   * made while the streaming job runs are embedded on the triggers' NOTIFY (the fallback poll is ten minutes away).
   */
  @Test
  public void continuousChangeCaptureOnFlinkEmbedsOnNotify() throws Exception {
    String db = TestDatabase.newDatabase("flinkcapture");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 20);
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    EmbeddingPipelineOptions o = OptionSources.parse(new String[] {
        "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=artifacts", "--runner=FlinkRunner", "--flinkMaster=[local]",
        "--parallelism=2", "--continuous", "--changeCapture=trigger", "--pollInterval=10m", "--maxBufferingMs=100",
        "--timeout=600000"}, Map.of(), EmbeddingPipelineOptions.class);
    java.util.concurrent.ExecutorService runner = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<RunReport> run = runner.submit(() -> EmbeddingPipeline.run(o, stop::get));
      await(180, () -> TestDatabase.count(db, "SELECT count(*) FROM artifacts_changes_state") == 1, run);
      await(120, () -> TestDatabase.count(db, "SELECT count(*) FROM artifacts_embeddings") == 20, run);
      try (var c = java.sql.DriverManager.getConnection(db)) {
        c.createStatement().execute("INSERT INTO artifacts VALUES (100, 'a row added while the job runs')");
        c.createStatement().execute("UPDATE artifacts SET content = content || ' (edited)' WHERE id = 3");
      }
      rows.put(100L, "a row added while the job runs");
      rows.put(3L, rows.get(3L) + " (edited)");
      String current = "SELECT count(*) FROM artifacts a JOIN artifacts_embeddings e ON e.artifact_id = a.id"
          + " WHERE e.content_sha256 = sha256(convert_to(a.content, 'UTF8'))";
      await(120, () -> TestDatabase.count(db, current) == 21, run);
      stop.set(true);
      assertEquals(RunStatus.CANCELLED, run.get(120, java.util.concurrent.TimeUnit.SECONDS).status());
      FlinkTestRows.assertEveryRowEmbedded(rows, db);
    } finally {
      stop.set(true);
      runner.shutdownNow();
    }
  }

  /** False while the condition cannot be evaluated yet (the run creates the target table when it starts). */
  private static boolean holds(java.util.concurrent.Callable<Boolean> condition) throws Exception {
    try {
      return condition.call();
    } catch (java.sql.SQLException e) {
      return false;
    }
  }

  private static void await(int seconds, java.util.concurrent.Callable<Boolean> condition,
      java.util.concurrent.Future<?> run) throws Exception {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(seconds);
    while (!holds(condition)) {
      if (run.isDone()) {
        throw new AssertionError("the run ended early: " + run.get());
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + seconds + " s");
      }
      Thread.sleep(100); // the interval between checks of the condition
    }
  }
}
