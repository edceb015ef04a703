package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.run;
import static io.pgembed.PipelineTestSupport.vectors;
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

    // A table whose id is its primary key is not scanned for duplicates. The server logs every statement of this
    // database; the check's GROUP BY ... HAVING appears for the table without a key and never for the one with.
    // (Debian's PostgreSQL of the pgvector tests: this test reads its log file.)
    String keyed = io.pgembed.db.PgVectorServer.newDatabase("keyedids");
    java.nio.file.Path serverLog = io.pgembed.db.PgVectorServer.serverLog();
    org.junit.Assume.assumeTrue("the pgvector server's log is not this JVM's to read", serverLog != null);
    execute(keyed, "CREATE TABLE tight (id bigint PRIMARY KEY, content text); INSERT INTO tight VALUES (1, 'one');"
        + " CREATE TABLE lax (id bigint, content text); INSERT INTO lax VALUES (1, 'one');"
        + " ALTER DATABASE " + keyed.replaceAll(".*/([a-z0-9_]+)(\\?.*)?$", "$1") + " SET log_statement = 'all'");
    String log = serverLogDuring(keyed, serverLog, () -> {
      Preflight.check(options(keyed, "--sourceTable=tight"), io.pgembed.model.TokenHashModel.small()).close();
      Preflight.check(options(keyed, "--sourceTable=lax"), io.pgembed.model.TokenHashModel.small()).close();
    });
    assertTrue("the log shows the run's statements", log.contains("FROM \"tight\" s LEFT JOIN"));
    assertTrue(log, log.contains("FROM \"lax\" s GROUP BY s.\"id\" HAVING count(*) > 1"));
    assertTrue("no duplicate check of the keyed table", !log.contains("FROM \"tight\" s GROUP BY"));
  }

  /** A check that may throw SQLException. */
  private interface Work {
    void run() throws Exception;
  }

  /** What the server wrote to {@code serverLog} while {@code work} ran, up to a marker statement run afterwards. */
  private static String serverLogDuring(String db, java.nio.file.Path serverLog, Work work) throws Exception {
    long from = java.nio.file.Files.size(serverLog);
    work.run();
    String marker = "log-marker-" + System.nanoTime();
    execute(db, "SELECT '" + marker + "'");
    String[] text = {""};
    io.pgembed.Await.await("the server's log to reach the marker", 60, () -> {
      try {
        byte[] all = java.nio.file.Files.readAllBytes(serverLog);
        text[0] = new String(all, (int) from, all.length - (int) from, java.nio.charset.StandardCharsets.UTF_8);
        return text[0].contains(marker);
      } catch (java.io.IOException e) {
        return false;
      }
    });
    return text[0];
  }

  /** The job's own tables in the public schema, by name: what a refused run must not have created. */
  private static String jobTables(String db) throws Exception {
    return PipelineTestSupport.firstValue(db, "SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '')"
        + " FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE '%\\_embeddings'"
        + " OR tablename LIKE '%\\_chunks' OR tablename = 'embedding_failures')");
  }

  /** Runs the launcher; asserts the exit code, one line starting with "error: " and holding {@code says}. */
  private static void refusedInOneLine(int code, String says, String... args) {
    String[] out = PipelineTestSupport.launch(args);
    assertEquals(out[2], Integer.toString(code), out[0]);
    // Log lines aside (the pool's start), one line: no stack trace.
    java.util.List<String> lines = out[1].strip().lines()
        .filter(l -> !l.matches("^\\[[^]]+\\] (INFO|WARN) .*")).toList();
    assertEquals(out[1], 1, lines.size());
    assertThat(lines.get(0), org.hamcrest.Matchers.startsWith("error: "));
    assertThat(lines.get(0), org.hamcrest.Matchers.containsString(says));
  }

  @Test
  public void badInputsEndInOneLineWithExitTwoBeforeAnythingIsWritten() throws Exception {
    String db = TestDatabase.newDatabase("badlines");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text); INSERT INTO docs VALUES (1, 'one');"
        + " CREATE TABLE bin (id bigint PRIMARY KEY, content bytea); INSERT INTO bin VALUES (1, 'x');"
        + " CREATE ROLE reader LOGIN;"
        + " CREATE TABLE " + "a".repeat(60) + " (id bigint PRIMARY KEY, content text)");
    String url = "--jdbcUrl=" + db;
    refusedInOneLine(2, "--sourceQuery is not a query this database can run (ERROR: syntax error at or near",
        "run", url, "--device=cpu", "--sourceTable=docs", "--sourceQuery=SELEC id, content FROM docs");
    refusedInOneLine(2, "(ERROR: relation \"nope\" does not exist, SQLState 42P01)",
        "run", url, "--device=cpu", "--sourceTable=docs", "--sourceQuery=SELECT id, content FROM nope");
    refusedInOneLine(2, "--sourceQuery ends with ';'",
        "run", url, "--device=cpu", "--sourceTable=docs", "--sourceQuery=SELECT id, content FROM docs; ");
    refusedInOneLine(2, "user reader may not read --sourceTable=docs (no SELECT privilege on its column id): have its"
        + " owner run GRANT SELECT ON docs TO reader",
        "run", url, "--username=reader", "--device=cpu", "--sourceTable=docs");
    refusedInOneLine(2, "--maxBatchTokens must be >= 0 (0: no cap), but was -1",
        "run", url, "--device=cpu", "--sourceTable=docs", "--maxBatchTokens=-1");
    refusedInOneLine(2, "--maxInFlightRows must be >= 0 (0: no bound), but was -5",
        "run", url, "--device=cpu", "--sourceTable=docs", "--maxInFlightRows=-5");
    refusedInOneLine(2, "--chunkOverlap must be >= 0 (or -1: about 10% of --chunkTokens), but was -5",
        "run", url, "--device=cpu", "--sourceTable=docs", "--chunking=tokens", "--chunkOverlap=-5");
    refusedInOneLine(2, "--textColumn=content is bytea: its hex form would be embedded, not its text. Use a text"
        + " column, or --sourceQuery=\"SELECT id, convert_from(content, 'UTF8') AS content FROM bin\"",
        "run", url, "--device=cpu", "--sourceTable=bin");
    refusedInOneLine(2, "the table name derived from " + "a".repeat(60) + ", " + "a".repeat(60) + "_embeddings, is 71"
        + " characters; PostgreSQL allows 63 (and would cut it silently): name the table with --targetTable",
        "run", url, "--device=cpu", "--sourceTable=" + "a".repeat(60));
    // A truncated model directory (the first megabyte of an ONNX file beside its tokenizer).
    java.nio.file.Path broken = java.nio.file.Files.createTempDirectory("broken-model");
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(
        io.pgembed.model.ModelFamilies.onnx(io.pgembed.model.ModelFamilies.e5Small()))) {
      java.nio.file.Files.write(broken.resolve("model.onnx"), in.readNBytes(1 << 20));
    }
    java.nio.file.Files.copy(io.pgembed.model.ModelFamilies.e5Small().resolve("tokenizer.json"),
        broken.resolve("tokenizer.json"));
    refusedInOneLine(2, "--model=" + broken + " cannot be loaded: ",
        "run", url, "--device=cpu", "--sourceTable=docs", "--model=" + broken);
    assertEquals("no table was created by any of them", "", jobTables(db));

    // A database whose sessions start with standard_conforming_strings off (a new one: no pooled session yet).
    String legacy = TestDatabase.newDatabase("legacystrings");
    execute(legacy, "CREATE TABLE docs (id bigint PRIMARY KEY, content text); INSERT INTO docs VALUES (1, 'one');"
        + " ALTER DATABASE " + legacy.replaceAll(".*/([a-z0-9_]+)(\\?.*)?$", "$1")
        + " SET standard_conforming_strings = off");
    refusedInOneLine(2, "the server runs with standard_conforming_strings = off, and the job's SQL needs it on",
        "run", "--jdbcUrl=" + legacy, "--device=cpu", "--sourceTable=docs");
    assertEquals("", jobTables(legacy));
  }

  @Test
  public void aRunRefusedForItsChunkingOrCanaryOptionsLeavesTheTargetExactlyAsItWas() throws Exception {
    String db = TestDatabase.newDatabase("refusednothing");
    PipelineTestSupport.createDocs(db, 6, i -> "Document " + i + ". " + "A sentence about PostgreSQL and vectors. "
        .repeat((int) (20 * i)));
    String url = "--jdbcUrl=" + db;
    String[] first = PipelineTestSupport.launch("run", url, "--device=cpu", "--sourceTable=docs", "--chunking=tokens");
    assertEquals(first[2], "0", first[0]);
    String snapshot = "SELECT string_agg(t::text, '|' ORDER BY artifact_id, chunk_seq) FROM docs_chunks t";
    String before = PipelineTestSupport.firstValue(db, snapshot);
    long failuresBefore = count(db, "SELECT count(*) FROM embedding_failures");
    execute(db, "DELETE FROM docs WHERE id IN (2, 5)"); // the next run that goes ahead prunes their chunks

    refusedInOneLine(2, "--chunkOverlap", "run", url, "--device=cpu", "--sourceTable=docs", "--chunking=tokens",
        "--chunkOverlap=200");
    refusedInOneLine(2, "--chunkTokens=9999 must be 1 to the model's maximum length", "run", url, "--device=cpu",
        "--sourceTable=docs", "--chunking=tokens", "--chunkTokens=9999");
    refusedInOneLine(2, "--canaryModel with --chunking=tokens is not supported", "run", url, "--device=cpu",
        "--sourceTable=docs", "--chunking=tokens", "--canaryModel=all-minilm-l6-v2");
    assertEquals("the refused runs changed no chunk", before, PipelineTestSupport.firstValue(db, snapshot));
    assertEquals(failuresBefore, count(db, "SELECT count(*) FROM embedding_failures"));
    assertTrue(count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id IN (2, 5)") > 0);

    String[] next = PipelineTestSupport.launch("run", url, "--device=cpu", "--sourceTable=docs", "--chunking=tokens");
    assertEquals(next[2], "0", next[0]);
    assertEquals("a run that goes ahead prunes them", 0,
        count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id IN (2, 5)"));
  }
}
