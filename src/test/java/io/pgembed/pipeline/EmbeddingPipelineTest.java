package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.run;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;

/** The whole job on the DirectRunner against a real PostgreSQL: happy path, reruns, edits, model changes. */
public class EmbeddingPipelineTest {
  @Rule public final transient TestPipeline first = TestPipeline.create();
  @Rule public final transient TestPipeline second = TestPipeline.create();
  @Rule public final transient TestPipeline third = TestPipeline.create();
  @Rule public final transient TestPipeline fourth = TestPipeline.create();

  @Test
  public void embedsEveryRowOnceThenOnlyWhatChanged() throws Exception {
    String db = TestDatabase.newDatabase("happy");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    Map<Long, String> rows = new LinkedHashMap<>();
    for (int i = 0; i < corpus.size(); i++) {
      rows.put(1000L + 7 * i, corpus.get(i).text());
    }
    insert(db, "artifacts", rows);

    // 1. Everything is embedded, once, with its own text's vector.
    RunReport r1 = run(first, options(db, "--sourceTable=artifacts", "--workers=2", "--batchSize=16"));
    assertEquals(RunStatus.COMPLETE, r1.status());
    assertEquals(300, r1.read());
    assertEquals(300, r1.embedded());
    assertEquals(0, r1.failed() + r1.skipped());
    assertEquals(0, r1.stillPending());
    assertCorrectVectors(db, rows);
    assertEquals(300, count(db, "SELECT count(*) FROM artifacts_embeddings WHERE model = '" + r1.model() + "'"));
    assertEquals(
        300,
        count(
            db,
            "SELECT count(*) FROM artifacts a JOIN artifacts_embeddings e ON e.artifact_id = a.id"
                + " WHERE e.content_sha256 = sha256(convert_to(a.content, 'UTF8'))"));

    // 2. A rerun embeds nothing.
    RunReport r2 = run(second, options(db, "--sourceTable=artifacts"));
    assertEquals(0, r2.read());
    assertEquals(0, r2.embedded());

    // 3. Edit 10 rows, insert 5: exactly those 15 are embedded.
    execute(db, "UPDATE artifacts SET content = content || ' (edited)' WHERE id IN"
        + " (SELECT id FROM artifacts ORDER BY id LIMIT 10)");
    Map<Long, String> added = new LinkedHashMap<>();
    for (int i = 0; i < 5; i++) {
      added.put(5_000_000L + i, "A newly inserted row about PostgreSQL vector search, number " + i);
    }
    insert(db, "artifacts", added);
    execute(db, "CREATE TABLE before_edit AS SELECT artifact_id, embedded_at FROM artifacts_embeddings");
    RunReport r3 = run(third, options(db, "--sourceTable=artifacts"));
    assertEquals(15, r3.read());
    assertEquals(15, r3.embedded());
    assertEquals(305, count(db, "SELECT count(*) FROM artifacts_embeddings"));
    assertEquals(
        "the 290 untouched rows keep their vectors",
        290,
        count(db, "SELECT count(*) FROM artifacts_embeddings e JOIN before_edit b USING (artifact_id)"
            + " WHERE e.embedded_at = b.embedded_at"));
    Map<Long, String> now = new LinkedHashMap<>();
    try (var c = PipelineTestSupport.connect(db);
        var rs = c.createStatement().executeQuery("SELECT id, content FROM artifacts")) {
      while (rs.next()) {
        now.put(rs.getLong(1), rs.getString(2));
      }
    }
    assertCorrectVectors(db, now);

    // 4. A new model fingerprint (another max length) re-embeds everything.
    RunReport r4 = run(fourth, options(db, "--sourceTable=artifacts", "--maxLength=128"));
    assertEquals(305, r4.embedded());
    assertEquals(305, count(db, "SELECT count(*) FROM artifacts_embeddings WHERE model = '" + r4.model() + "'"));
    assertTrue(r4.model().endsWith("max_length=128"));
  }

  /** Every stored vector is the one the embed command gives for that id's text; one row per id. */
  private static void assertCorrectVectors(String db, Map<Long, String> rows) throws Exception {
    Map<String, float[]> stored = vectors(db, "artifacts_embeddings");
    assertEquals(rows.size(), stored.size());
    List<Long> ids = new ArrayList<>(rows.keySet());
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      for (int start = 0; start < ids.size(); start += 32) {
        List<Long> chunk = ids.subList(start, Math.min(ids.size(), start + 32));
        float[][] expected = p.embedTexts(chunk.stream().map(rows::get).toList());
        for (int i = 0; i < chunk.size(); i++) {
          float[] got = stored.get(Long.toString(chunk.get(i)));
          assertThat("id " + chunk.get(i), TestModels.cosine(expected[i], got), greaterThanOrEqualTo(0.99999));
        }
      }
    }
  }
}
