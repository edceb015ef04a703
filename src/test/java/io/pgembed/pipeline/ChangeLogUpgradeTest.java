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

import io.pgembed.PipelineTestSupport;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.TokenHashModel;
import java.util.Map;
import org.junit.Test;

/**
 * A change log of the first layout (one row per id, in a column named {@code id}, as the first version with
 * {@code --changeCapture=trigger} made it) keeps working: the owner's next run brings it to the array layout in one
 * transaction without losing a queued entry; a role that may not is refused, naming the older layout.
 */
public class ChangeLogUpgradeTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  /** What the first version's triggers did: one log row per changed id, into the column {@code id}. */
  private static final String FIRST_LAYOUT = "DROP TRIGGER docs_changes_del ON docs;"
      + " ALTER TABLE docs_changes DROP COLUMN ids; ALTER TABLE docs_changes ADD COLUMN id bigint;"
      + " CREATE OR REPLACE FUNCTION docs_changes_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      + " IF TG_OP = 'INSERT' THEN INSERT INTO docs_changes (id, op) SELECT DISTINCT id, 'upsert' FROM new_rows;"
      + " ELSIF TG_OP = 'UPDATE' THEN INSERT INTO docs_changes (id, op) SELECT DISTINCT w.id, 'upsert' FROM new_rows w"
      + " JOIN old_rows o ON o.id = w.id WHERE o.content IS DISTINCT FROM w.content; END IF; RETURN NULL; END $$;"
      + " CREATE TRIGGER docs_changes_del AFTER DELETE ON docs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
      + " EXECUTE FUNCTION docs_changes_row()";

  @Test
  public void aLogOfTheFirstLayoutIsUpgradedWithItsEntries() throws Exception {
    String db = TestDatabase.newDatabase("captureupgrade");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'document ' || i FROM generate_series(1, 5) i;"
        + " CREATE ROLE upgrade_embedder LOGIN; GRANT SELECT ON docs TO upgrade_embedder;"
        + " GRANT CREATE ON SCHEMA public TO upgrade_embedder");
    assertEquals(5, PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--changeCapture=trigger"),
        MODEL).embedded());
    execute(db, FIRST_LAYOUT);
    execute(db, "INSERT INTO docs VALUES (6, 'six'); UPDATE docs SET content = 'document 2, edited' WHERE id = 2");
    assertEquals("entries of the first layout", "2 upsert,6 upsert",
        firstValue(db, "SELECT string_agg(id || ' ' || op, ',' ORDER BY id) FROM docs_changes"));

    String[] refused = PipelineTestSupport.launch("run", "--jdbcUrl=" + db, "--username=upgrade_embedder",
        "--device=cpu", "--sourceTable=docs", "--changeCapture=trigger");
    assertEquals(refused[2], "2", refused[0]);
    assertThat(refused[1], containsString("(docs_changes is there, but of an older layout that this version"
        + " upgrades), which only its owner (postgres) may create"));
    assertEquals("the refusal changed nothing", 2, count(db, "SELECT count(*) FROM docs_changes WHERE id IS NOT NULL"));

    RunReport upgraded = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--changeCapture=trigger"),
        MODEL);
    assertEquals("the queued entries, and nothing else, are read", 2, upgraded.read());
    assertEquals(2, upgraded.embedded());
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(6, stored.size());
    assertArrayEquals(MODEL.vectorOf("document 2, edited"), stored.get("2"), 0f);
    assertArrayEquals(MODEL.vectorOf("six"), stored.get("6"), 0f);
    assertEquals("the log is of the array layout, and drained", "ids 0", firstValue(db, "SELECT string_agg(attname,"
        + " ',') || ' ' || (SELECT count(*) FROM docs_changes) FROM pg_attribute WHERE attrelid = 'docs_changes'::regclass"
        + " AND attname IN ('id', 'ids') AND NOT attisdropped"));

    // The upgraded triggers queue one entry per statement; a delete is pruned from the log.
    execute(db, "UPDATE docs SET content = content || '!' WHERE id <= 3; DELETE FROM docs WHERE id = 4");
    assertEquals("{1,2,3} upsert,{4} delete", firstValue(db, "SELECT string_agg(ids::text || ' ' || op, ','"
        + " ORDER BY seq) FROM docs_changes"));
    RunReport next = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--changeCapture=trigger"), MODEL);
    assertEquals(3, next.embedded());
    assertEquals(1, next.pruned());
    assertArrayEquals(MODEL.vectorOf("document 1!"), vectors(db, "docs_embeddings").get("1"), 0f);
    assertEquals(0, count(db, "SELECT count(*) FROM docs_changes"));
  }
}
