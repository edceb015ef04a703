package io.pgembed.pipeline;

import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.firstValue;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static io.pgembed.db.TestDatabase.count;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import io.pgembed.MainProcess;
import io.pgembed.PipelineTestSupport;
import io.pgembed.db.TestDatabase;
import io.pgembed.db.WriteGate;
import io.pgembed.model.TokenHashModel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * --changeCapture=trigger in batch runs, against a real PostgreSQL: the first run installs the log and scans once;
 * later runs read only what the log names (inserts, text edits, id changes, deletes, TRUNCATE) and never an edit of
 * another column; entries go only after what they asked for is written; a role that does not own the table is
 * refused with the privilege named, and runs once the owner applied capture-sql's statements.
 */
public class ChangeCaptureTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static RunReport run(String db, String... extra) throws Exception {
    String[] args = new String[extra.length + 2];
    args[0] = "--sourceTable=docs";
    args[1] = "--changeCapture=trigger";
    System.arraycopy(extra, 0, args, 2, extra.length);
    return PipelineTestSupport.runWhole(options(db, args), MODEL);
  }

  /** The changes queued: each id of each entry (a TRUNCATE's entry has none). */
  private static long logEntries(String db) throws Exception {
    return count(db, "SELECT coalesce(sum(cardinality(ids)), 0) FROM docs_changes");
  }

  @Test
  public void batchRunsReadOnlyWhatTheLogNames() throws Exception {
    String db = TestDatabase.newDatabase("capture");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text, views int DEFAULT 0);"
        + " INSERT INTO docs (id, content) SELECT i, 'document ' || i FROM generate_series(1, 20) i");

    RunReport first = run(db);
    assertEquals("the first run scans once", 20, first.embedded());
    assertEquals(0, logEntries(db));
    assertEquals(4, count(db, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'docs'::regclass"
        + " AND tgname LIKE 'docs_changes_%' AND tgenabled = 'A'"));
    assertEquals(first.model(), firstValue(db, "SELECT model FROM docs_changes_state"));

    String untouched = firstValue(db, "SELECT embedded_at::text FROM docs_embeddings WHERE artifact_id = 4");
    execute(db, "INSERT INTO docs (id, content) VALUES (21, 'twenty-one'), (22, 'twenty-two');"
        + " UPDATE docs SET content = 'document 3, edited' WHERE id = 3;"
        + " UPDATE docs SET content = 'document 3, edited again' WHERE id = 3;"
        + " UPDATE docs SET views = views + 1 WHERE id = 4;"
        + " UPDATE docs SET content = content WHERE id = 7;"
        + " DELETE FROM docs WHERE id = 5");
    assertEquals("another column's edit and an unchanged text log nothing; an id edited twice is read once",
        "3 upsert,3 upsert,5 delete,21 upsert,22 upsert",
        firstValue(db, "SELECT string_agg(u.id || ' ' || op, ',' ORDER BY u.id, seq) FROM docs_changes,"
            + " unnest(ids) u(id)"));

    RunReport second = run(db);
    assertEquals(RunStatus.COMPLETE, second.status());
    assertEquals("only the three changed rows are read", 3, second.read());
    assertEquals(3, second.embedded());
    assertEquals(1, second.pruned());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(21, stored.size());
    assertArrayEquals(MODEL.vectorOf("document 3, edited again"), stored.get("3"), 0f);
    assertArrayEquals(MODEL.vectorOf("twenty-two"), stored.get("22"), 0f);
    assertFalse(stored.containsKey("5"));
    assertEquals("a row whose other column changed is not written again", untouched,
        firstValue(db, "SELECT embedded_at::text FROM docs_embeddings WHERE artifact_id = 4"));
    assertEquals(0, logEntries(db));
    assertEquals("the report says the log is drained", 0L, second.toMap().get("change_log_entries"));

    // An id changed by UPDATE: the old id's vector goes, the new one's comes.
    execute(db, "UPDATE docs SET id = 100 WHERE id = 6");
    RunReport moved = run(db);
    assertEquals(1, moved.embedded());
    assertEquals(1, moved.pruned());
    stored = vectors(db, "docs_embeddings");
    assertFalse(stored.containsKey("6"));
    assertArrayEquals(MODEL.vectorOf("document 6"), stored.get("100"), 0f);

    // Nothing changed: nothing read.
    assertEquals(0, run(db).read());

    // TRUNCATE: every vector goes.
    execute(db, "TRUNCATE docs");
    RunReport truncated = run(db);
    assertEquals(0, truncated.read());
    assertEquals(0, count(db, "SELECT count(*) FROM docs_embeddings"));
    assertEquals(0, logEntries(db));
  }

  @Test
  public void aRoleThatDoesNotOwnTheTableIsRefusedUntilTheOwnerAppliesCaptureSql() throws Exception {
    String db = TestDatabase.newDatabase("captureowner");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'document ' || i FROM generate_series(1, 5) i;"
        + " CREATE ROLE capture_embedder LOGIN; GRANT SELECT ON docs TO capture_embedder; GRANT CREATE ON SCHEMA public TO capture_embedder");
    String[] asRole = {"run", "--jdbcUrl=" + db, "--username=capture_embedder", "--device=cpu", "--sourceTable=docs",
        "--changeCapture=trigger"};
    String[] refused = PipelineTestSupport.launch(asRole);
    assertEquals(refused[2], "2", refused[0]);
    assertThat(refused[1], containsString("error: --changeCapture=trigger needs a change log and triggers on docs,"
        + " which only its owner (postgres) may create, and user capture_embedder is not a member of that role"));
    assertEquals("nothing was created", 0, count(db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'docs_%'"));

    String[] sql = PipelineTestSupport.launch("capture-sql", "--jdbcUrl=" + db, "--sourceTable=docs",
        "--username=capture_embedder");
    assertEquals(sql[2], "0", sql[0]);
    StringBuilder statements = new StringBuilder();
    sql[1].lines().filter(l -> !l.startsWith("[") && !l.startsWith("--")).forEach(l -> statements.append(l).append('\n'));
    assertThat(statements.toString(), containsString("GRANT SELECT, DELETE ON \"docs_changes\" TO \"capture_embedder\";"));
    execute(db, statements.toString()); // the owner applies them

    String[] ran = PipelineTestSupport.launch(asRole);
    assertEquals(ran[2], "0", ran[0]);
    assertEquals(5, count(db, "SELECT count(*) FROM docs_embeddings"));
    execute(db, "INSERT INTO docs VALUES (6, 'six')"); // as the owner, through the owner's trigger
    String[] next = PipelineTestSupport.launch(asRole);
    assertEquals(next[2], "0", next[0]);
    assertEquals(6, count(db, "SELECT count(*) FROM docs_embeddings"));
    assertEquals(0, count(db, "SELECT count(*) FROM docs_changes"));
  }

  @Test
  public void aRunKilledWhileItDrainsLeavesEveryEntryAndTheRerunEmbedsExactlyWhatWasLeft() throws Exception {
    String db = TestDatabase.newDatabase("capturekill");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'document ' || i FROM generate_series(1, 10) i");
    String url = "--jdbcUrl=" + db;
    String[] primed = PipelineTestSupport.launch("run", url, "--device=cpu", "--sourceTable=docs",
        "--changeCapture=trigger");
    assertEquals(primed[2], "0", primed[0]);
    execute(db, "INSERT INTO docs SELECT i, 'added ' || i FROM generate_series(11, 610) i");
    assertEquals("one statement, one entry", 1, count(db, "SELECT count(*) FROM docs_changes"));
    assertEquals(600, logEntries(db));
    long written;
    // The drain's writes are held once 200 vectors are in; the process is killed there.
    try (WriteGate gate = WriteGate.closedAfter(db, "docs", 384, 200)) {
      Process p = MainProcess.start("capture-killed", "1g", List.of("run", url, "--device=cpu",
          "--sourceTable=docs", "--changeCapture=trigger", "--writeBatchSize=20"));
      try {
        gate.awaitHeld(240);
      } finally {
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
      }
      written = count(db, "SELECT count(*) FROM docs_embeddings");
    }
    assertEquals("no entry was removed by the killed run", 600, logEntries(db));
    assertThat("killed midway", written, org.hamcrest.Matchers.lessThan(610L));
    java.nio.file.Path report = java.nio.file.Files.createTempFile("capture", ".json");
    String[] rerun = PipelineTestSupport.launch("run", url, "--device=cpu", "--sourceTable=docs",
        "--changeCapture=trigger", "--reportFile=" + report);
    assertEquals(rerun[2], "0", rerun[0]);
    com.fasterxml.jackson.databind.JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper().readTree(report.toFile());
    assertEquals("the rerun embeds exactly what was left", 610 - written, r.get("rows_embedded").asLong());
    assertEquals(610 - written, r.get("rows_read").asLong());
    assertEquals(610, count(db, "SELECT count(*) FROM docs_embeddings"));
    assertEquals("every entry settled", 0, logEntries(db));
  }

  @Test
  public void chunkedDocumentsAreKeptInStepFromTheLog() throws Exception {
    String db = TestDatabase.newDatabase("capturechunks");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs VALUES (1, repeat('The first document talks about vectors. ', 120)),"
        + " (2, repeat('The second one is about PostgreSQL triggers. ', 120))");
    String[] args = {"run", "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=docs", "--chunking=tokens",
        "--changeCapture=trigger"};
    String[] first = PipelineTestSupport.launch(args);
    assertEquals(first[2], "0", first[0]);
    long chunksOf2 = count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 2");
    String twoBefore = firstValue(db, "SELECT max(embedded_at)::text FROM docs_chunks WHERE artifact_id = 2");
    execute(db, "UPDATE docs SET content = 'Now a short text.' WHERE id = 1");
    String[] second = PipelineTestSupport.launch(args);
    assertEquals(second[2], "0", second[0]);
    assertThat(second[1], containsString("1 pending at start, 1 read"));
    assertEquals("the shrunk document is one chunk of its new text", "1 Now a short text.",
        firstValue(db, "SELECT count(*) || ' ' || min(substr(d.content, c.chunk_start + 1, c.chunk_end - c.chunk_start))"
            + " FROM docs_chunks c JOIN docs d ON d.id = c.artifact_id WHERE c.artifact_id = 1"
            + " AND c.content_sha256 = sha256(convert_to(d.content, 'UTF8'))"));
    assertEquals(1, count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1"));
    assertEquals("the other document untouched", chunksOf2, count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 2"));
    assertEquals(twoBefore, firstValue(db, "SELECT max(embedded_at)::text FROM docs_chunks WHERE artifact_id = 2"));
    assertEquals(0, count(db, "SELECT count(*) FROM docs_changes"));
  }
}
