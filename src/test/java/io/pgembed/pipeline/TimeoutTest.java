package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.run;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.Main;
import io.pgembed.commands.RunCommand;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.HeldModel;
import io.pgembed.model.TestModels;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.Await;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;

/** --timeout cancels cleanly: what was written is right and stays, the rest stays pending, the next run finishes. */
public class TimeoutTest {
  @Rule public final transient TestPipeline first = TestPipeline.create();
  @Rule public final transient TestPipeline second = TestPipeline.create();

  @Test
  public void aTimedOutRunIsPartialAndConsistentAndTheNextRunCompletesIt() throws Exception {
    String db = TestDatabase.newDatabase("timeout");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    Map<Long, String> rows = new LinkedHashMap<>();
    for (int i = 0; i < 600; i++) {
      rows.put((long) i, corpus.get(i % corpus.size()).text() + " #" + i);
    }
    insert(db, "artifacts", rows);

    // The first forward pass is held at a gate until the run's --timeout has passed: its group (started before the
    // deadline) is written, every later group is left pending, on any machine.
    String gate = "timeout-" + System.nanoTime();
    EmbeddingPipelineOptions o =
        options(db, "--sourceTable=artifacts", "--timeout=5000", "--batchSize=8", "--writeBatchSize=8");
    CompletableFuture<RunReport> running = CompletableFuture.supplyAsync(() -> {
      try {
        return run(first, o, new HeldModel(EmbeddingPipeline.modelSpec(o), gate));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    RunReport partial;
    try {
      HeldModel.awaitHeld(gate, 1, 180_000);
      long held = System.currentTimeMillis();
      Await.await("the run's deadline to pass while a forward pass is held", 120,
          () -> System.currentTimeMillis() > held + 5000);
    } finally {
      HeldModel.open(gate);
    }
    partial = running.get(5, TimeUnit.MINUTES);
    assertEquals(RunStatus.PARTIAL, partial.status());
    assertEquals(Main.EXIT_PARTIAL, RunCommand.exitCode(partial));
    long written = count(db, "SELECT count(*) FROM artifacts_embeddings");
    assertTrue("some rows were written before the timeout: " + written, written > 0);
    assertTrue("not all rows were written: " + written, written < 600);
    assertEquals("what is not written is still pending", 600 - written, partial.stillPending());
    assertEquals("everything embedded before the deadline was written", partial.embedded(), written);
    assertEquals(600, partial.embedded() + partial.deferred());
    assertEquals(
        "every written row carries its own text's hash",
        written,
        count(db, "SELECT count(*) FROM artifacts a JOIN artifacts_embeddings e ON e.artifact_id = a.id"
            + " WHERE e.content_sha256 = sha256(convert_to(a.content, 'UTF8'))"));

    Map<String, String> firstWrites = embeddedAt(db);
    RunReport rest = run(second, options(db, "--sourceTable=artifacts"));
    assertEquals(RunStatus.COMPLETE, rest.status());
    assertEquals(600 - written, rest.read());
    assertEquals(0, rest.stillPending());
    assertEquals(600, count(db, "SELECT count(*) FROM artifacts_embeddings"));
    assertEquals("the second run embedded only what was pending", 600 - written, rest.embedded());
    Map<String, String> after = embeddedAt(db);
    firstWrites.forEach((id, at) -> assertEquals("row " + id + " untouched by the second run", at, after.get(id)));
  }

  /** Each stored row's embedded_at, by id. */
  private static Map<String, String> embeddedAt(String db) throws Exception {
    Map<String, String> out = new java.util.HashMap<>();
    try (java.sql.Connection c = PipelineTestSupport.connect(db);
        java.sql.ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id::text, embedded_at::text FROM artifacts_embeddings")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getString(2));
      }
    }
    return out;
  }
}
