package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Test;

/**
 * The job as a role with only the privileges the README lists: SELECT on the source; SELECT, INSERT, UPDATE and
 * DELETE on the target and failures tables; no CREATE. It embeds, upserts, records failures and prunes; where a
 * table must be created, it stops before reading with a message that names the missing privilege and the fix.
 */
public class LeastPrivilegeTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static RunReport run(EmbeddingPipelineOptions o) throws Exception {
    return PipelineTestSupport.runWhole(o, MODEL);
  }

  @Test
  public void aRoleWithTheDocumentedGrantsRunsTheJobAndOneWithoutCreateIsToldWhatIsMissing() throws Exception {
    String db = TestDatabase.newDatabase("leastpriv");
    Map<Long, String> rows = PipelineTestSupport.createDocs(db, 40, i -> "document " + i + " read by a role that may only read it");
    // The owner creates the job's tables once (a first run), then grants the job's role what it needs.
    assertEquals(40, run(options(db, "--sourceTable=docs")).embedded());
    execute(db, "CREATE ROLE embedder LOGIN");
    execute(db, "GRANT SELECT ON docs TO embedder;"
        + " GRANT SELECT, INSERT, UPDATE, DELETE ON docs_embeddings, embedding_failures TO embedder");

    // New, edited and deleted rows, embedded by the role.
    execute(db, "INSERT INTO docs SELECT i, 'document ' || i || ' added later' FROM generate_series(41, 60) i");
    execute(db, "UPDATE docs SET content = 'document 5, edited' WHERE id = 5; DELETE FROM docs WHERE id = 6");
    RunReport r = run(options(db, "--sourceTable=docs", "--username=embedder"));
    assertEquals(r.error(), RunStatus.COMPLETE, r.status());
    assertEquals(21, r.embedded());
    assertEquals(1, r.pruned());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(59, stored.size());
    assertArrayEquals(MODEL.vectorOf("document 5, edited"), stored.get("5"), 0f);
    assertArrayEquals(MODEL.vectorOf("document 41 added later"), stored.get("41"), 0f);

    // A source whose target does not exist yet: the role may not create it.
    execute(db, "CREATE TABLE notes (id bigint PRIMARY KEY, content text); GRANT SELECT ON notes TO embedder");
    try (Preflight.Checked checked = Preflight.check(options(db, "--sourceTable=notes", "--username=embedder"),
        MODEL)) {
      fail("the role created notes_embeddings without the privilege");
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage(), containsString("user embedder may not create notes_embeddings"));
      assertThat(e.getMessage(), containsString("SQLState 42501"));
      assertThat(e.getMessage(), containsString("GRANT CREATE ON SCHEMA public TO embedder"));
      assertThat(e.getMessage(), containsString("CREATE TABLE IF NOT EXISTS \"notes_embeddings\""));
    }
  }

  /**
   * A database where PUBLIC may not create temporary tables: the job writes with statements instead of COPY, with
   * the same rows and values; {@code --writeMethod=copy} is refused before anything changes, naming the grant.
   */
  @Test
  public void aRoleThatMayNotCreateTemporaryTablesWritesWithStatementsAndIsToldWhyCopyIsRefused() throws Exception {
    String db = TestDatabase.newDatabase("notemp");
    String name = db.replaceAll(".*/([a-z0-9_]+)(\\?.*)?$", "$1");
    PipelineTestSupport.createDocs(db, 30, i -> "document " + i + " written without a temporary table");
    assertEquals(30, run(options(db, "--sourceTable=docs")).embedded()); // the owner: COPY
    String role = "notemp_" + ProcessHandle.current().pid();
    execute(db, "REVOKE TEMPORARY ON DATABASE " + name + " FROM PUBLIC; CREATE ROLE " + role + " LOGIN;"
        + " GRANT SELECT ON docs TO " + role + ";"
        + " GRANT SELECT, INSERT, UPDATE, DELETE ON docs_embeddings, embedding_failures TO " + role);
    execute(db, "UPDATE docs SET content = 'document ' || id || ', edited' WHERE id <= 10");
    try (Preflight.Checked checked = Preflight.check(
        options(db, "--sourceTable=docs", "--username=" + role, "--writeMethod=copy"), MODEL)) {
      fail("--writeMethod=copy ran without the TEMPORARY privilege");
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage(), containsString("may not create temporary tables"));
      assertThat(e.getMessage(), containsString("GRANT TEMPORARY ON DATABASE"));
      assertThat(e.getMessage(), containsString("--writeMethod=statements"));
    }
    RunReport r = run(options(db, "--sourceTable=docs", "--username=" + role));
    assertEquals(r.error(), RunStatus.COMPLETE, r.status());
    assertEquals(10, r.embedded());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(30, stored.size());
    assertArrayEquals(MODEL.vectorOf("document 3, edited"), stored.get("3"), 0f);
    assertArrayEquals(MODEL.vectorOf("document 11 written without a temporary table"), stored.get("11"), 0f);
  }
}
