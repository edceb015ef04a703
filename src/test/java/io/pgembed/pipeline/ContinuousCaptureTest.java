package io.pgembed.pipeline;

import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static io.pgembed.db.TestDatabase.count;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pgembed.Await;
import io.pgembed.PipelineTestSupport;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.CountingModel;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * Continuous mode with --changeCapture=trigger: woken by the triggers' NOTIFY (the fallback poll is set far away,
 * so only a notification can explain a prompt embedding), reading only what the log names; under a writer of a few
 * hundred single-row updates a second for 30 s every row ends with its latest text's vector, no text is embedded
 * twice, and the log empties.
 */
public class ContinuousCaptureTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  /** The job in continuous trigger mode on another thread, until {@code stop}. */
  private static CompletableFuture<RunReport> start(EmbeddingPipelineOptions o, io.pgembed.model.ModelSpec spec,
      AtomicBoolean stop) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return EmbeddingPipeline.run(o, spec, stop::get);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** The stored vectors, for a condition waited on (a failed read is an empty map: the wait goes on). */
  private static Map<String, float[]> storedNow(String db) {
    try {
      return vectors(db, "docs_embeddings");
    } catch (Exception e) {
      return Map.of();
    }
  }

  @Test
  public void aNotificationWakesTheRunForInsertsEditsDeletesIdChangesAndTruncate() throws Exception {
    String db = TestDatabase.newDatabase("notify");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text, views int DEFAULT 0);"
        + " INSERT INTO docs (id, content) SELECT i, 'document ' || i FROM generate_series(1, 10) i");
    AtomicBoolean stop = new AtomicBoolean();
    // The fallback poll is ten minutes away: only a NOTIFY can wake the run within the bounds below.
    CompletableFuture<RunReport> run = start(options(db, "--sourceTable=docs", "--changeCapture=trigger",
        "--continuous", "--pollInterval=10m", "--maxBufferingMs=100"), MODEL, stop);
    try {
      Await.atLeast("the first drain's vectors", 120, () -> count(db, "SELECT count(*) FROM docs_embeddings"), 10);
      String untouched = PipelineTestSupport.firstValue(db,
          "SELECT embedded_at::text FROM docs_embeddings WHERE artifact_id = 4");
      execute(db, "INSERT INTO docs (id, content) VALUES (11, 'eleven');"
          + " UPDATE docs SET content = 'document 3, edited' WHERE id = 3;"
          + " UPDATE docs SET views = 9 WHERE id = 4;"
          + " DELETE FROM docs WHERE id = 5");
      Await.await("the changes embedded and the deleted row pruned", 120, () -> {
        try {
          Map<String, float[]> v = vectors(db, "docs_embeddings");
          return v.containsKey("11") && !v.containsKey("5")
              && java.util.Arrays.equals(v.get("3"), MODEL.vectorOf("document 3, edited"));
        } catch (Exception e) {
          return false;
        }
      });
      Map<String, float[]> stored = vectors(db, "docs_embeddings");
      assertEquals(10, stored.size());
      assertArrayEquals(MODEL.vectorOf("eleven"), stored.get("11"), 0f);
      assertEquals("another column's edit wrote nothing", untouched, PipelineTestSupport.firstValue(db,
          "SELECT embedded_at::text FROM docs_embeddings WHERE artifact_id = 4"));

      // An id changed by UPDATE: the old id's vector goes, the new one's comes.
      execute(db, "UPDATE docs SET id = 100 WHERE id = 6");
      Await.await("the moved row embedded under its new id", 120, () -> {
        Map<String, float[]> v = storedNow(db);
        return v.containsKey("100") && !v.containsKey("6");
      });
      stored = vectors(db, "docs_embeddings");
      assertEquals(10, stored.size());
      assertArrayEquals(MODEL.vectorOf("document 6"), stored.get("100"), 0f);

      // TRUNCATE: every vector goes, and what is inserted after it is embedded.
      execute(db, "TRUNCATE docs; INSERT INTO docs (id, content) VALUES (7, 'seven, after the truncate')");
      Await.await("only the row inserted after the TRUNCATE has a vector", 120, () -> {
        Map<String, float[]> v = storedNow(db);
        return v.size() == 1 && java.util.Arrays.equals(v.get("7"), MODEL.vectorOf("seven, after the truncate"));
      });
      Await.atLeast("the log drained", 120, () -> -count(db, "SELECT count(*) FROM docs_changes"), 0);
    } finally {
      stop.set(true);
    }
    assertEquals(RunStatus.CANCELLED, run.get(2, TimeUnit.MINUTES).status());
  }

  @Test
  public void underAWriterEveryRowEndsWithItsLatestTextAndNoTextIsEmbeddedTwice() throws Exception {
    String db = TestDatabase.newDatabase("writer");
    int rows = 200;
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'row ' || i || ' version 0' FROM generate_series(1, " + rows + ") i");
    String counter = "writer-" + System.nanoTime();
    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<RunReport> run = start(options(db, "--sourceTable=docs", "--changeCapture=trigger",
        "--continuous", "--pollInterval=1s", "--maxBufferingMs=100"), new CountingModel(MODEL, counter), stop);
    Map<Long, String> latest = new HashMap<>();
    AtomicInteger updates = new AtomicInteger();
    try {
      Await.atLeast("the first drain's vectors", 120, () -> count(db, "SELECT count(*) FROM docs_embeddings"), rows);
      // A writer: single-row updates, each committed alone, 300 a second for 30 s (bounded in time and count).
      java.util.Random random = new java.util.Random(7);
      long start = System.nanoTime();
      long end = start + TimeUnit.SECONDS.toNanos(30);
      try (Connection c = PipelineTestSupport.connect(db);
          PreparedStatement ps = c.prepareStatement("UPDATE docs SET content = ? WHERE id = ?")) {
        while (System.nanoTime() < end && updates.get() < 9_000) {
          long due = start + updates.get() * TimeUnit.SECONDS.toNanos(1) / 300;
          java.util.concurrent.locks.LockSupport.parkNanos(due - System.nanoTime()); // the writer's pace
          if (System.nanoTime() >= end) {
            break;
          }
          long id = 1 + random.nextInt(rows);
          String text = "row " + id + " version " + updates.incrementAndGet();
          ps.setString(1, text);
          ps.setLong(2, id);
          ps.executeUpdate();
          latest.put(id, text);
        }
      }
      Await.await("every row's latest text embedded and the log empty", 180, () -> {
        try {
          Map<String, float[]> v = vectors(db, "docs_embeddings");
          for (Map.Entry<Long, String> e : latest.entrySet()) {
            if (!java.util.Arrays.equals(v.get(e.getKey().toString()), MODEL.vectorOf(e.getValue()))) {
              return false;
            }
          }
          return count(db, "SELECT count(*) FROM docs_changes") == 0;
        } catch (Exception e) {
          return false;
        }
      });
    } finally {
      stop.set(true);
    }
    run.get(2, TimeUnit.MINUTES);
    Map<String, AtomicInteger> embedded = CountingModel.counts(counter);
    assertTrue("the writer made many updates: " + updates.get(), updates.get() > 1000);
    assertFalse("a text was embedded twice: " + embedded, embedded.values().stream().anyMatch(n -> n.get() > 1));
    for (Map.Entry<Long, String> e : latest.entrySet()) {
      assertTrue(e.getValue(), embedded.containsKey(e.getValue()));
    }
    System.out.printf("writer: %d updates (300/s for 30 s); %d distinct texts embedded, none twice%n",
        updates.get(), embedded.size());
  }
}
