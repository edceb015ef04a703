package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.Await.await;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.MainProcess;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * Runs in waves of at most --maxInFlightRows (the DirectRunner's memory bound): every row exactly once and exact,
 * whatever the bound and the id type; a JVM killed midway leaves its written rows, and the next run embeds only
 * the rest.
 */
public class WavesTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static RunReport run(EmbeddingPipelineOptions o) throws Exception {
    return PipelineTestSupport.runWhole(o, MODEL);
  }

  private static Waves.Wave wave(long rows) {
    return new Waves.Wave(io.pgembed.db.KeyRange.ALL, rows, null, null, 0);
  }

  @Test
  public void theSecondWaveIsSizedByTheModelsRateAndTheLastTakesASmallTail() {
    // After the first wave (2 s of wall, mostly warm-up; 450 ms of forward passes) the model's rate, 569 rows/s,
    // sizes the next: 30 s of it is over the bound, so the bound.
    assertEquals(10_000, Waves.nextSize(10_000, wave(256), true, 2_000_000_000L, 450, 100_000));
    // Later waves go by wall time: 3,000 rows in 15 s is 200 rows/s, 6,000 rows in 30 s.
    assertEquals(6_000, Waves.nextSize(10_000, wave(3_000), false, 15_000_000_000L, 9_000, 100_000));
    // 7,000 left: a 6,000-row wave would leave 1,000 (under a quarter of it), so it takes all 7,000 ...
    assertEquals(7_000, Waves.nextSize(10_000, wave(3_000), false, 15_000_000_000L, 9_000, 7_000));
    // ... but never more than the bound.
    assertEquals(6_500, Waves.nextSize(6_500, wave(3_000), false, 15_000_000_000L, 9_000, 7_000));
    // 9,000 left leaves 3,000 after 6,000: a wave of its own.
    assertEquals(6_000, Waves.nextSize(10_000, wave(3_000), false, 15_000_000_000L, 9_000, 9_000));
    // A bound under the first wave's size is the size of every wave; a slow wave never goes under it.
    assertEquals(32, Waves.nextSize(32, wave(32), false, 60_000_000_000L, 50_000, 1_000));
    assertEquals(Waves.FIRST_WAVE, Waves.nextSize(10_000, wave(256), false, 600_000_000_000L, 1, 100_000));
  }

  @Test
  public void aLargeTableGoesInBoundedWavesAndEveryRowOnceAndExact() throws Exception {
    String db = TestDatabase.newDatabase("waves");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    Map<Long, String> rows = new LinkedHashMap<>();
    for (long i = 0; i < 1200; i++) {
      rows.put(i * 3 + 7, "document " + i + " " + "about waves ".repeat((int) (i % 9) + 1));
    }
    insert(db, "docs", rows);
    RunReport r = run(options(db, "--sourceTable=docs", "--maxInFlightRows=100", "--batchSize=16"));
    assertEquals(RunStatus.COMPLETE, r.status());
    assertEquals(1200, r.read());
    assertEquals(1200, r.embedded());
    assertEquals(0, r.stillPending());
    assertEquals("1200 rows in waves of at most 100", 12, r.waves());
    assertEquals(100, r.largestWaveRows());
    assertEquals("one worker JVM, this one, across the waves", 1, r.workers().size());
    assertEquals(1200, r.workers().values().iterator().next().rowsEmbedded());
    assertThat(r.workers().values().iterator().next().peakRssBytes(), greaterThanOrEqualTo(1L << 20));
    // The model's busy time is summed over the waves, and is part of the wall time.
    double busy = (Double) r.toMap().get("model_busy_seconds");
    assertTrue("model busy " + busy + " s of " + r.wallSeconds(), busy > 0 && busy < r.wallSeconds());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(1200, stored.size());
    for (Map.Entry<Long, String> e : rows.entrySet()) {
      assertArrayEquals("row " + e.getKey(), MODEL.vectorOf(e.getValue()), stored.get(e.getKey().toString()), 0f);
    }
    // A rerun finds nothing pending: no wave at all.
    RunReport again = run(options(db, "--sourceTable=docs", "--maxInFlightRows=100"));
    assertEquals(0, again.read());
    assertEquals(0, again.waves());
  }

  @Test
  public void wavesOfOneBatchOverUuidIdsLoseAndDuplicateNothing() throws Exception {
    String db = TestDatabase.newDatabase("waveuuid");
    execute(db, "CREATE TABLE notes (id uuid PRIMARY KEY, content text)");
    Map<String, String> rows = new LinkedHashMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO notes VALUES (?, ?)")) {
      for (int i = 0; i < 61; i++) {
        UUID id = UUID.nameUUIDFromBytes(("note" + i).getBytes());
        String text = i == 30 ? null : "note " + i + " on keyset pagination";
        rows.put(id.toString(), text);
        ps.setObject(1, id);
        ps.setString(2, text);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    // The in-flight bound is one batch: 8 rows.
    RunReport r = run(options(db, "--sourceTable=notes", "--maxInFlightRows=8", "--batchSize=8"));
    assertEquals(RunStatus.COMPLETE, r.status());
    assertEquals(61, r.read());
    assertEquals(60, r.embedded());
    assertEquals(1, r.skipped());
    assertEquals(8, r.waves());
    assertEquals(8, r.largestWaveRows());
    Map<String, float[]> stored = vectors(db, "notes_embeddings");
    assertEquals(60, stored.size());
    for (Map.Entry<String, String> e : rows.entrySet()) {
      if (e.getValue() != null) {
        assertArrayEquals(e.getKey(), MODEL.vectorOf(e.getValue()), stored.get(e.getKey()), 0f);
      }
    }
    assertEquals(1, count(db, "SELECT count(*) FROM embedding_failures WHERE error_class = 'skipped_null_text'"));
  }

  @Test
  public void aKilledRunKeepsItsWrittenRowsAndTheNextRunEmbedsOnlyTheRest() throws Exception {
    String db = TestDatabase.newDatabase("wavekill");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    Map<Long, String> rows = new LinkedHashMap<>();
    for (long i = 0; i < 2400; i++) {
      String text = corpus.get((int) (i % corpus.size())).text();
      rows.put(i, text.substring(0, Math.min(text.length(), 120)) + " #" + i);
    }
    insert(db, "artifacts", rows);
    // Writes are held once 600 vectors are in (two waves and more): the run is killed midway on any machine.
    long written;
    try (io.pgembed.db.WriteGate gate = io.pgembed.db.WriteGate.closedAfter(db, "artifacts", 384, 600)) {
      Process run = MainProcess.start("killed-run", "1g", List.of(
          "run", "--jdbcUrl=" + db, "--sourceTable=artifacts", "--device=cpu", "--maxInFlightRows=300"));
      try {
        gate.awaitHeld(240);
      } finally {
        run.destroyForcibly(); // SIGKILL: no shutdown hook, no drain
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
      }
      written = count(db, "SELECT count(*) FROM artifacts_embeddings");
    }
    assertThat("killed midway", written, lessThan(2400L));
    // 600 counted inside the held transaction, less its own uncommitted rows (a write batch holds up to 500).
    assertThat(written, greaterThanOrEqualTo(100L));
    // Every row written before the kill is there and correct: the model's vector for its own text.
    EmbeddingPredictor p = TestModels.bundled().newPredictor();
    Map<String, float[]> before = vectors(db, "artifacts_embeddings");
    for (Map.Entry<String, float[]> e : before.entrySet()) {
      float[] expected = p.embedTexts(List.of(rows.get(Long.parseLong(e.getKey()))))[0];
      assertThat("row " + e.getKey(), TestModels.cosine(expected, e.getValue()), greaterThanOrEqualTo(0.99999));
    }
    // The next run reads only what was not written.
    RunReport rest = EmbeddingPipeline.run(options(db, "--sourceTable=artifacts", "--maxInFlightRows=300"));
    assertEquals(RunStatus.COMPLETE, rest.status());
    assertEquals(2400 - before.size(), rest.read());
    assertEquals(2400 - before.size(), rest.embedded());
    assertThat(rest.largestWaveRows(), lessThanOrEqualTo(300L));
    assertEquals(2400, count(db, "SELECT count(*) FROM artifacts_embeddings"));
    Map<String, float[]> after = vectors(db, "artifacts_embeddings");
    for (Map.Entry<String, float[]> e : before.entrySet()) {
      assertArrayEquals("row " + e.getKey() + " written before the kill is kept as it was", e.getValue(),
          after.get(e.getKey()), 0f);
    }
  }
}
