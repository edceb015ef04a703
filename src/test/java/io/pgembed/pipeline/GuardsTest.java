package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.TestDatabase;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Injection in names, secrets in options, logs and display data, and the vector column's type (its dimension against
 * the model's is PgVectorTest's: a real[] column has none).
 */
public class GuardsTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static final String TABLES =
      "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables"
          + " WHERE table_schema = 'public'";

  @Test
  public void injectionInNamesIsRejectedBeforeAnySqlRuns() throws Exception {
    String db = TestDatabase.newDatabase("inject");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    execute(db, "INSERT INTO artifacts VALUES (1, 'hello')");
    String before = tables(db);
    String[][] attacks = {
      {"--sourceTable=artifacts; DROP TABLE artifacts; --", "--sourceTable must be a plain identifier"},
      {"--sourceTable=artifacts\" x", "--sourceTable must be a plain identifier"},
      {"--textColumn=content) FROM artifacts; DROP TABLE artifacts; --", "--textColumn must be a plain identifier"},
      {"--targetTable=t; DELETE FROM artifacts", "--targetTable must be a plain identifier"},
      {"--idColumn=id OR 1=1", "--idColumn must be a plain identifier"},
    };
    for (String[] attack : attacks) {
      String[] args = attack[0].startsWith("--sourceTable") ? new String[] {attack[0]} : new String[] {"--sourceTable=artifacts", attack[0]};
      EmbeddingPipelineOptions o = options(db, args);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PipelineTestSupport.prepare(o));
      assertTrue(e.getMessage(), e.getMessage().startsWith(attack[1]));
    }
    assertEquals("the schema is unchanged", before, tables(db));
    assertEquals(1, count(db, "SELECT count(*) FROM artifacts"));
    IllegalArgumentException missing =
        assertThrows(IllegalArgumentException.class, () -> PipelineTestSupport.prepare(options(db, "--sourceTable=nope")));
    assertTrue(missing.getMessage(), missing.getMessage().startsWith("--sourceTable=nope does not exist"));
    IllegalArgumentException noColumn =
        assertThrows(
            IllegalArgumentException.class,
            () -> PipelineTestSupport.prepare(options(db, "--sourceTable=artifacts", "--textColumn=body")));
    assertEquals("--textColumn=body: artifacts has no such column", noColumn.getMessage());
    assertEquals(before, tables(db));
  }

  @Test
  public void thePasswordNeverShowsInOptionsDisplayDataOrLogs() throws Exception {
    String secret = "s3cr3t-Pa55-" + System.nanoTime();
    String db = TestDatabase.newDatabase("secret");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    execute(db, "INSERT INTO artifacts VALUES (1, 'hello'), (2, 'world')");
    Path passwordFile = tmp.newFile("pw").toPath();
    Files.writeString(passwordFile, secret + "\n");

    EmbeddingPipelineOptions o = options(db, "--sourceTable=artifacts", "--passwordFile=" + passwordFile, "--verbose");
    RunReport[] report = {null};
    String logs = PipelineTestSupport.printed(() -> report[0] = PipelineTestSupport.run(pipeline, o));
    assertEquals(2, report[0].embedded());
    assertTrue("the run logged", logs.contains("embedding run: complete"));
    assertFalse("logs", logs.contains(secret));
    assertFalse("options", o.toString().contains(secret));
    assertFalse("options display data", DisplayData.from(o).toString().contains(secret));
    StringBuilder transforms = new StringBuilder();
    pipeline.traverseTopologically(new org.apache.beam.sdk.Pipeline.PipelineVisitor.Defaults() {
      @Override
      public void visitPrimitiveTransform(org.apache.beam.sdk.runners.TransformHierarchy.Node node) {
        transforms.append(DisplayData.from(node.getTransform()));
      }

      @Override
      public CompositeBehavior enterCompositeTransform(org.apache.beam.sdk.runners.TransformHierarchy.Node node) {
        if (node.getTransform() != null) {
          transforms.append(DisplayData.from(node.getTransform()));
        }
        return CompositeBehavior.ENTER_TRANSFORM;
      }
    });
    assertTrue(transforms.length() > 0);
    assertFalse("transform display data", transforms.toString().contains(secret));

    IllegalArgumentException inUrl =
        assertThrows(
            IllegalArgumentException.class,
            () -> PipelineTestSupport.prepare(options(db + "&password=" + secret, "--sourceTable=artifacts")));
    assertFalse(inUrl.getMessage().contains(secret));
    assertTrue(inUrl.getMessage(), inUrl.getMessage().startsWith("--jdbcUrl must not carry the password"));
  }

  @Test
  public void aVectorColumnOfAnotherTypeFailsAtStartUpAndNothingIsWritten() throws Exception {
    String db = TestDatabase.newDatabase("dims");
    execute(db, "CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
    execute(db, "INSERT INTO artifacts VALUES (1, 'hello')");
    execute(db, "CREATE TABLE artifacts_embeddings (artifact_id bigint PRIMARY KEY, embedding text,"
        + " model text, content_sha256 bytea, embedded_at timestamptz)");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PipelineTestSupport.prepare(options(db, "--sourceTable=artifacts")));
    assertEquals(
        "artifacts_embeddings.embedding has type text; it must be real[], or pgvector's vector(d) or halfvec(d)", e.getMessage());
    assertEquals(0, count(db, "SELECT count(*) FROM artifacts_embeddings"));
  }

  private static String tables(String db) throws Exception {
    try (var c = PipelineTestSupport.connect(db);
        var rs = c.createStatement().executeQuery(TABLES)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
