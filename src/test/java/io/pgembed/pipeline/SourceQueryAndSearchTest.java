package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.run;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.Main;
import io.pgembed.commands.SearchCommand;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;

/** A custom --sourceQuery with token-budget batches, then search and the run command's exit codes. */
public class SourceQueryAndSearchTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  @Test
  public void aSourceQueryIsEmbeddedInTokenBatchesAndSearchable() throws Exception {
    String db = TestDatabase.newDatabase("query");
    execute(db, "CREATE TABLE posts (id integer PRIMARY KEY, title text, body text)");
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    Map<Integer, String> expectedText = new LinkedHashMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO posts VALUES (?, ?, ?)")) {
      for (int i = 0; i < 40; i++) {
        String title = "Post " + i;
        String body = corpus.get(i * 7).text();
        ps.setInt(1, i);
        ps.setString(2, title);
        ps.setString(3, body);
        ps.addBatch();
        expectedText.put(i, title + " " + body);
      }
      ps.executeBatch();
    }
    String[] args = {
      "--sourceTable=posts",
      "--sourceQuery=SELECT id, title || ' ' || body AS content FROM posts",
      "--targetTable=post_vectors",
      "--batchMode=tokens",
      "--maxBatchTokens=512"
    };
    RunReport r = run(pipeline, options(db, args));
    assertEquals(40, r.embedded());
    Map<String, float[]> stored = vectors(db, "post_vectors");
    assertEquals(40, stored.size());
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      for (Map.Entry<Integer, String> e : expectedText.entrySet()) {
        float[] expected = p.embedTexts(List.of(e.getValue()))[0];
        assertThat("id " + e.getKey(), TestModels.cosine(expected, stored.get(e.getKey().toString())),
            greaterThanOrEqualTo(0.99999));
      }
    }

    // Searching for a row's exact text finds that row first, with cosine ~1.
    SearchOptions s =
        OptionSources.parse(
            new String[] {
              "--jdbcUrl=" + db, "--device=cpu", args[0], args[1], args[2], "--query=" + expectedText.get(17), "--top=3"
            },
            Map.of(),
            SearchOptions.class);
    List<io.pgembed.search.VectorSearch.Hit> hits = SearchCommand.run(s, TestModels.bundled(), TestModels.bundled().newPredictor());
    assertEquals(3, hits.size());
    assertEquals("17", hits.get(0).id());
    assertThat(hits.get(0).score(), greaterThanOrEqualTo(0.9999));

    // The run command: a rerun completes with nothing to do (exit 0); a bad name is exit 2.
    assertEquals(Main.EXIT_OK, Main.run(new String[] {"run", "--jdbcUrl=" + db, "--device=cpu", args[0], args[1], args[2]}));
    assertEquals(Main.EXIT_BAD_INPUT, Main.run(new String[] {"--jdbcUrl=" + db, "--sourceTable=posts;drop"}));
  }
}
