package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.Test;

/**
 * Rows deleted from the source lose their vectors and failure records on the next run (--pruneDeleted, on by
 * default); rows left alone keep theirs untouched (same embedded_at); --pruneDeleted=false keeps everything.
 */
public class DeletedRowsTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();
  private static final ModelSpec POISONED = InjectedFaults.of(MODEL).failOnTextMatching("^POISON");

  private static RunReport run(EmbeddingPipelineOptions o) throws Exception {
    return PipelineTestSupport.runWhole(o, POISONED);
  }

  private static Map<String, String> embeddedAt(String db) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id::text, embedded_at::text FROM docs_embeddings")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getString(2));
      }
    }
    return out;
  }

  @Test
  public void deletedRowsLoseTheirVectorsAndFailuresAndTheRestIsUntouched() throws Exception {
    String db = TestDatabase.newDatabase("deleted");
    Map<Long, String> rows = PipelineTestSupport.createDocs(
        db, 30, i -> (i == 7 || i == 8 ? "POISON " : "") + "document " + i + " about pruning");
    RunReport first = run(options(db, "--sourceTable=docs", "--batchSize=4"));
    assertEquals(28, first.embedded());
    assertEquals(2, first.failed());
    assertEquals(0, first.pruned());
    Map<String, String> before = embeddedAt(db);

    // Rows 3 and 4 (with vectors) and 7 (a failure record) leave the source.
    execute(db, "DELETE FROM docs WHERE id IN (3, 4, 7)");
    RunReport second = run(options(db, "--sourceTable=docs", "--batchSize=4"));
    assertEquals("two vectors removed", 2, second.pruned());
    assertEquals(2L, second.toMap().get("rows_pruned"));
    assertEquals("row 8 is retried: it failed once of 3 attempts", 1, second.read());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(26, stored.size());
    for (Map.Entry<Long, String> e : rows.entrySet()) {
      String id = e.getKey().toString();
      if (Set.of(3L, 4L, 7L, 8L).contains(e.getKey())) {
        assertEquals("row " + id, false, stored.containsKey(id));
      } else {
        assertArrayEquals("row " + id, MODEL.vectorOf(e.getValue()), stored.get(id), 0f);
      }
    }
    assertEquals("only row 8's failure record is left", 1,
        count(db, "SELECT count(*) FROM embedding_failures WHERE artifact_id = '8'"));
    assertEquals(1, count(db, "SELECT count(*) FROM embedding_failures"));
    // The rows left alone were not written again: their embedded_at is the first run's.
    Map<String, String> after = embeddedAt(db);
    before.keySet().removeAll(Set.of("3", "4"));
    assertEquals(before, after);

    // --pruneDeleted=false keeps the vectors of deleted rows.
    execute(db, "DELETE FROM docs WHERE id IN (10, 11)");
    RunReport kept = run(options(db, "--sourceTable=docs", "--pruneDeleted=false"));
    assertEquals(0, kept.pruned());
    assertEquals(26, count(db, "SELECT count(*) FROM docs_embeddings"));
  }

  @Test
  public void aRowEditedWhileItIsEmbeddedEndsPendingAndTheNextRunEmbedsItsNewText() throws Exception {
    String db = TestDatabase.newDatabase("editedmidrun");
    Map<Long, String> rows = PipelineTestSupport.createDocs(db, 10, i -> "document " + i + " about edits");
    EmbeddingPipelineOptions o = options(db, "--sourceTable=docs", "--batchSize=16", "--maxBufferingMs=60000");
    ModelSpec gated = new io.pgembed.model.HeldModel(MODEL, "edited-mid-run");
    java.util.concurrent.CompletableFuture<RunReport> running = PipelineTestSupport.runWholeAsync(o, gated);
    // The rows were read and are in the model: edit one, then let the model go on.
    io.pgembed.model.HeldModel.awaitHeld("edited-mid-run", 1, 120_000);
    execute(db, "UPDATE docs SET content = 'document 5, rewritten while it was embedded' WHERE id = 5");
    io.pgembed.model.HeldModel.open("edited-mid-run");
    RunReport r = running.get(120, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(10, r.embedded());
    assertEquals("row 5's stored hash is of its old text: pending again", 1, r.stillPending());
    assertArrayEquals(MODEL.vectorOf("document 5 about edits"), vectors(db, "docs_embeddings").get("5"), 0f);

    RunReport next = run(options(db, "--sourceTable=docs"));
    assertEquals(1, next.read());
    assertEquals(0, next.stillPending());
    assertArrayEquals(MODEL.vectorOf("document 5, rewritten while it was embedded"),
        vectors(db, "docs_embeddings").get("5"), 0f);
  }
}
