package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.Await;
import io.pgembed.db.TestDatabase;
import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.metrics.EmbeddingMetrics.Snapshot;
import io.pgembed.model.TestModels;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;

/**
 * --continuous: rows inserted and edited while it runs are embedded within 3 poll intervals, each content once;
 * rows deleted while it runs lose their vectors at the next prune.
 */
public class ContinuousModeTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private static final long POLL_MS = 2000;

  @Test
  public void insertsAndEditsAreEmbeddedWithinThreePollsAndOnlyOnce() throws Exception {
    String db = TestDatabase.newDatabase("continuous");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    Map<Long, String> rows = new LinkedHashMap<>();
    for (int i = 0; i < 20; i++) {
      rows.put((long) i, TestModels.parityCorpus().get(i).text());
    }
    insert(db, "artifacts", rows);
    EmbeddingPipelineOptions o =
        options(db, "--sourceTable=artifacts", "--continuous", "--pollInterval=" + POLL_MS + "ms", "--batchSize=8",
            "--maxBufferingMs=200", "--pruneInterval=1s");
    Preflight.Checked prepared = PipelineTestSupport.prepare(o);
    pipeline.apply("Embed pending rows", EmbeddingPipeline.embedPendingRows(prepared, o));
    PipelineResult result = RunController.start(pipeline);
    try {
      String embeddedNow =
          "SELECT count(*) FROM artifacts a JOIN artifacts_embeddings e ON e.artifact_id = a.id"
              + " WHERE e.content_sha256 = sha256(convert_to(a.content, 'UTF8'))";
      Await.atLeast("rows embedded", 120, () -> count(db, embeddedNow), 20);

      // Changes while it runs: 5 inserts and 3 edits.
      long changedAt = System.nanoTime();
      Map<Long, String> added = new LinkedHashMap<>();
      for (int i = 0; i < 5; i++) {
        added.put(100L + i, "Inserted while the pipeline runs: row " + i + " about vector search in PostgreSQL");
      }
      insert(db, "artifacts", added);
      execute(db, "UPDATE artifacts SET content = content || ' (edited while running)' WHERE id IN (3, 7, 11)");
      Await.atLeast("rows embedded", 60, () -> count(db, embeddedNow), 25);
      long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - changedAt);
      System.out.println("changes embedded after " + elapsedMs + " ms");
      assertThat("embedded within 3 poll intervals", elapsedMs, lessThanOrEqualTo(3 * POLL_MS));

      // Let two more polls happen, then check that nothing was embedded twice: 20 + 5 + 3 contents, once each.
      long polls = counter(result, Snapshot::polls);
      Await.atLeast("polls", 60, () -> counter(result, Snapshot::polls), polls + 2);
      Await.atLeast("the rows_embedded counter", 60, () -> counter(result, Snapshot::rowsEmbedded), 28);
      assertEquals(28, counter(result, Snapshot::rowsEmbedded));
      assertEquals(25, count(db, "SELECT count(*) FROM artifacts_embeddings"));

      // Two rows leave the source while it runs: their vectors go at the next prune (every second here).
      execute(db, "DELETE FROM artifacts WHERE id IN (5, 101)");
      Await.atLeast("vectors removed", 60, () -> 25 - count(db, "SELECT count(*) FROM artifacts_embeddings"), 2);
      Await.atLeast("the rows_pruned counter", 60, () -> counter(result, Snapshot::rowsPruned), 2);
      assertEquals(23, count(db, "SELECT count(*) FROM artifacts_embeddings"));
      assertEquals(0, count(db, "SELECT count(*) FROM artifacts_embeddings WHERE artifact_id IN (5, 101)"));
      assertEquals(2, counter(result, Snapshot::rowsPruned));
    } finally {
      result.cancel();
      prepared.close();
    }
    assertEquals(PipelineResult.State.CANCELLED, result.getState());
  }

  /** Continuous mode with --chunking=tokens: a long document, then the same shrunk, then deleted, kept in step. */
  @Test
  public void chunkedDocumentsAreKeptInStepWhileItRuns() throws Exception {
    String db = TestDatabase.newDatabase("continuous_chunks");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    insert(db, "docs", Map.of(1L, ChunkingTest.document(0, 60), 2L, ChunkingTest.document(70, 9)));
    EmbeddingPipelineOptions o = options(db, "--sourceTable=docs", "--chunking=tokens", "--continuous",
        "--pollInterval=1s", "--maxBufferingMs=200", "--pruneInterval=1s");
    Preflight.Checked prepared = PipelineTestSupport.prepare(o);
    pipeline.apply("Embed pending rows", EmbeddingPipeline.embedPendingRows(prepared, o));
    PipelineResult result = RunController.start(pipeline);
    // Documents whose chunks are all there for their current text.
    String complete = "SELECT count(*) FROM docs d WHERE (SELECT count(*) FROM docs_chunks c WHERE c.artifact_id"
        + " = d.id AND c.content_sha256 = sha256(convert_to(d.content, 'UTF8'))) = (SELECT min(chunk_count) FROM"
        + " docs_chunks c WHERE c.artifact_id = d.id AND c.content_sha256 = sha256(convert_to(d.content, 'UTF8')))";
    try {
      Await.atLeast("complete documents", 120, () -> count(db, complete), 2);
      long before = count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1");
      assertThat(before, org.hamcrest.Matchers.greaterThan(4L));
      execute(db, "UPDATE docs SET content = left(content, 600) WHERE id = 1");
      Await.atLeast("chunks of the current texts", 60, () -> count(db, "SELECT count(*) FROM docs_chunks c JOIN docs d ON d.id = c.artifact_id"
          + " WHERE d.id = 1 AND c.content_sha256 = sha256(convert_to(d.content, 'UTF8'))"), 1);
      Await.atLeast("complete documents", 60, () -> count(db, complete), 2);
      assertEquals("the shrunk document keeps no stale chunk", 1,
          count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1"));
      execute(db, "DELETE FROM docs WHERE id = 2");
      Await.atLeast("the deleted document's chunks gone", 60, () -> count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 2") == 0 ? 1 : 0, 1);
    } finally {
      result.cancel();
      prepared.close();
    }
  }

  private static long counter(PipelineResult result, java.util.function.ToLongFunction<Snapshot> metric) {
    return metric.applyAsLong(EmbeddingMetrics.snapshot(result));
  }

}
