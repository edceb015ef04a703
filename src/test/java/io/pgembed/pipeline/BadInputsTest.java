package io.pgembed.pipeline;

import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.pipeline.PipelineTestSupport.execute;
import static io.pgembed.pipeline.PipelineTestSupport.options;
import static io.pgembed.pipeline.PipelineTestSupport.run;
import static io.pgembed.pipeline.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;

/** Hostile rows: nothing vanishes, one poison row fails alone, odd texts embed or are skipped with a reason. */
public class BadInputsTest {
  @Rule public final transient TestPipeline first = TestPipeline.create();
  @Rule public final transient TestPipeline second = TestPipeline.create();

  @Test
  public void aPoisonRowFailsAloneInsideABatchOf64() throws Exception {
    String db = TestDatabase.newDatabase("poison");
    execute(db, "CREATE TABLE docs (id uuid PRIMARY KEY, content text)");
    UUID poison = null;
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO docs VALUES (?, ?)")) {
      for (int i = 0; i < 64; i++) {
        UUID id = UUID.nameUUIDFromBytes(("row" + i).getBytes());
        String text = TestModels.parityCorpus().get(i).text();
        if (i == 41) {
          poison = id;
          text = "POISON " + text;
        }
        ps.setObject(1, id);
        ps.setString(2, text);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    RunReport r =
        run(
            first,
            options(db, "--sourceTable=docs", "--batchSize=64", "--workers=1", "--lengthBuckets=false",
                "--maxBufferingMs=60000"),
            InjectedFaults.of(ModelLoader.builder().device("cpu").build()).failOnTextMatching("^POISON"));
    assertEquals(RunStatus.COMPLETE, r.status());
    assertEquals(64, r.read());
    assertEquals(63, r.embedded());
    assertEquals(1, r.failed());
    assertEquals(0, r.skipped());
    assertEquals(r.read(), r.embedded() + r.skipped() + r.failed());
    assertEquals("halving 64 down to the poison row: 6 splits", 6, r.groupSplits());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(63, stored.size());
    assertTrue(!stored.containsKey(poison.toString()));
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs =
            c.createStatement()
                .executeQuery("SELECT artifact_id, error_class, message, attempts, target_table FROM embedding_failures")) {
      assertTrue(rs.next());
      assertEquals(poison.toString(), rs.getString(1));
      assertEquals("io.pgembed.model.InjectedFaults$InjectedFailure", rs.getString(2));
      assertTrue(rs.getString(3).contains("injected fault /^POISON/"));
      assertEquals(1, rs.getInt(4));
      assertEquals("docs_embeddings", rs.getString(5));
      assertTrue("exactly one failure row", !rs.next());
    }
    // Still pending: the poison row has attempts left.
    assertEquals(1, r.stillPending());
  }

  @Test
  public void oddTextsAreEmbeddedOrSkippedWithAReasonAndNothingVanishes() throws Exception {
    String db = TestDatabase.newDatabase("odd");
    execute(db, "CREATE TABLE notes (id text PRIMARY KEY, content text)");
    Map<String, String> rows = new LinkedHashMap<>();
    rows.put("null", null);
    rows.put("empty", "");
    rows.put("blank", " \t\n  \r\n ");
    rows.put("control", "bell\u0007 escape\u001b[31m red \u0001\u0002 form\u000c feed");
    rows.put("emoji", "🚀🔥 shipped it 🎉👨‍👩‍👧‍👦");
    rows.put("cjk", "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.");
    rows.put("huge", "PostgreSQL stores text and vectors. ".repeat(30_000)); // about 1 MB
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO notes VALUES (?, ?)")) {
      for (Map.Entry<String, String> e : rows.entrySet()) {
        ps.setString(1, e.getKey());
        ps.setString(2, e.getValue());
        ps.addBatch();
      }
      ps.executeBatch();
    }
    assertTrue(rows.get("huge").length() > 1_000_000);
    RunReport r = run(first, options(db, "--sourceTable=notes", "--batchSize=8"));
    assertEquals(7, r.read());
    assertEquals(4, r.embedded());
    assertEquals(3, r.skipped());
    assertEquals(0, r.failed());
    assertEquals(1, r.truncated());
    assertEquals(r.read(), r.embedded() + r.skipped() + r.failed());

    Map<String, float[]> stored = vectors(db, "notes_embeddings");
    assertEquals(java.util.Set.of("control", "emoji", "cjk", "huge"), stored.keySet());
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      for (String id : stored.keySet()) {
        float[] expected = p.embedTexts(java.util.List.of(rows.get(id)))[0];
        assertThat(id, TestModels.cosine(expected, stored.get(id)), greaterThanOrEqualTo(0.99999));
      }
    }
    Map<String, String> reasons = new LinkedHashMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id, error_class, attempts, content_sha256 FROM embedding_failures ORDER BY artifact_id")) {
      while (rs.next()) {
        reasons.put(rs.getString(1), rs.getString(2));
        assertEquals("skipped rows are not retried", 3, rs.getInt(3));
        if (rs.getString(1).equals("null")) {
          assertNull(rs.getBytes(4));
        }
      }
    }
    assertEquals(
        Map.of("blank", "skipped_blank_text", "empty", "skipped_blank_text", "null", "skipped_null_text"), reasons);

    // A rerun reads nothing: skipped rows wait for their text to change.
    RunReport again = run(second, options(db, "--sourceTable=notes"));
    assertEquals(0, again.read());
    assertEquals(3, count(db, "SELECT count(*) FROM embedding_failures"));
  }

  private static String refusal(EmbeddingPipelineOptions o) throws Exception {
    try (Preflight.Checked checked = Preflight.check(o, io.pgembed.model.TokenHashModel.small())) {
      throw new AssertionError("the run was not refused: " + checked.pending() + " rows pending");
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  @Test
  public void aSourceQueryWithDuplicateIdsIsRefusedNamingThemBeforeAnythingIsWritten() throws Exception {
    String db = TestDatabase.newDatabase("dupids");
    execute(db, "CREATE TABLE posts (id bigint PRIMARY KEY, title text, body text)");
    execute(db, "INSERT INTO posts VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', 'z')");
    // A join that repeats ids: two texts for id 2, three for id 3.
    String message = refusal(options(db, "--sourceTable=posts",
        "--sourceQuery=SELECT p.id, p.title || t.x AS content FROM posts p"
            + " JOIN (VALUES (2, '!'), (2, '?'), (3, '.'), (3, ','), (3, ';'), (1, '')) t(id, x) ON t.id = p.id"));
    assertEquals("--sourceQuery returns more than one row for --idColumn=id 3 (3 rows), 2 (2 rows): each id gets one"
        + " vector, so its rows would overwrite each other. Return one row per id (e.g. SELECT DISTINCT ON (id) ..."
        + " ORDER BY id, updated_at DESC), or name a unique --idColumn.", message);
    assertEquals("no table was created", 0,
        count(db, "SELECT count(*) FROM pg_tables WHERE tablename IN ('posts_embeddings', 'embedding_failures')"));
  }

  @Test
  public void aTableWithoutAUniqueIdIsCheckedAndOneWithAPrimaryKeyIsNot() throws Exception {
    String db = TestDatabase.newDatabase("dupidtable");
    execute(db, "CREATE TABLE loose (id bigint, content text)");
    execute(db, "INSERT INTO loose VALUES (1, 'one'), (2, 'two'), (2, 'deux')");
    assertThat(refusal(options(db, "--sourceTable=loose")),
        org.hamcrest.Matchers.startsWith("--sourceTable=loose returns more than one row for --idColumn=id 2 (2 rows)"));
    // Once the ids are unique (no index), the same table runs.
    execute(db, "DELETE FROM loose WHERE content = 'deux'");
    try (Preflight.Checked checked = Preflight.check(options(db, "--sourceTable=loose"),
        io.pgembed.model.TokenHashModel.small())) {
      assertEquals(2, checked.pending());
    }
  }
}
