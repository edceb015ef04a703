package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.Test;

/**
 * Two runs over the same table at once, while another session keeps updating target rows: both complete (a lost
 * deadlock or serialization conflict is written again), and the table ends exact.
 */
public class ConcurrentRunsTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static CompletableFuture<RunReport> start(EmbeddingPipelineOptions o) {
    return PipelineTestSupport.runWholeAsync(o, MODEL);
  }

  @Test
  public void twoRunsAndAWriterOnTheSameRowsEndWithAnExactTable() throws Exception {
    String db = TestDatabase.newDatabase("concurrent");
    Map<Long, String> rows = PipelineTestSupport.createDocs(db, 1500, i -> "row " + i + " embedded by two runs at once " + "y ".repeat((int) (i % 6)));
    // Create the tables first, so that both runs find them.
    try (Preflight.Checked ignored = Preflight.check(options(db, "--sourceTable=docs"), MODEL)) {
      // prepared
    }
    AtomicBoolean running = new AtomicBoolean(true);
    CompletableFuture<Long> writer = CompletableFuture.supplyAsync(() -> {
      long updates = 0;
      while (running.get()) {
        try {
          // Touches target rows in descending id order, against the runs' ascending batches.
          execute(db, "UPDATE docs_embeddings SET embedded_at = embedded_at WHERE artifact_id IN (SELECT"
              + " artifact_id FROM docs_embeddings ORDER BY artifact_id DESC LIMIT 200)");
          updates++;
        } catch (java.sql.SQLException e) {
          if (!"40P01".equals(e.getSQLState())) {
            throw new IllegalStateException(e);
          }
        }
      }
      return updates;
    });
    CompletableFuture<RunReport> a = start(options(db, "--sourceTable=docs", "--maxInFlightRows=300",
        "--batchSize=16", "--writeBatchSize=50"));
    CompletableFuture<RunReport> b = start(options(db, "--sourceTable=docs", "--maxInFlightRows=500",
        "--batchSize=8", "--writeBatchSize=70"));
    RunReport ra = a.get(300, TimeUnit.SECONDS);
    RunReport rb = b.get(300, TimeUnit.SECONDS);
    running.set(false);
    writer.get(60, TimeUnit.SECONDS);
    assertEquals(ra.error(), RunStatus.COMPLETE, ra.status());
    assertEquals(rb.error(), RunStatus.COMPLETE, rb.status());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(1500, stored.size());
    for (Map.Entry<Long, String> e : rows.entrySet()) {
      assertArrayEquals("row " + e.getKey(), MODEL.vectorOf(e.getValue()), stored.get(e.getKey().toString()), 0f);
    }
    assertEquals(0, TestDatabase.count(db, "SELECT count(*) FROM embedding_failures"));
    assertEquals("nothing pending", 0, TestDatabase.count(db, "SELECT count(*) FROM docs d LEFT JOIN"
        + " docs_embeddings e ON e.artifact_id = d.id WHERE e.content_sha256 IS DISTINCT FROM"
        + " sha256(convert_to(d.content, 'UTF8'))"));
  }
}
