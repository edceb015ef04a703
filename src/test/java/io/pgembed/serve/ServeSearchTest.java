package io.pgembed.serve;

import static io.pgembed.serve.ServeTestSupport.post;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.PipelineTestSupport;
import io.pgembed.db.PgVectorServer;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import io.pgembed.pipeline.RunReport;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * {@code POST /search} against a real PostgreSQL with pgvector: the paraphrased row comes first, through the HNSW
 * index the job built; a server whose model made none of the table's vectors refuses (409), naming both
 * fingerprints, so a mismatch cannot pass silently.
 */
public class ServeSearchTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GITIGNORE = "utility library for gitignore style pattern matching of file paths (Python 3)";

  @Test
  public void searchFindsTheParaphrasedRowAndRefusesAnotherModelsTable() throws Exception {
    String db = PgVectorServer.newDatabase("serve");
    List<String> texts = new ArrayList<>();
    for (TestModels.CorpusText t : TestModels.parityCorpus()) {
      if (t.kind().equals("prose")) {
        texts.add(t.text());
      }
    }
    PipelineTestSupport.createDocs(db, texts.size(), i -> texts.get((int) i - 1));
    RunReport run = PipelineTestSupport.runWhole(PipelineTestSupport.options(db, "--sourceTable=docs",
        "--vectorType=vector", "--hnswIndex=true"), ModelLoader.builder().build());
    assertTrue(run.index().built());
    long gitignore = texts.indexOf(GITIGNORE) + 1;

    try (EmbeddingServer server = ServeTestSupport.start(ModelLoader.builder().device("cpu").build(),
        "--jdbcUrl=" + db, "--sourceTable=docs")) {
      HttpResponse<String> r = post(server, "/search", "{\"query\": \"a Python package that tells whether a file"
          + " path matches patterns like the ones in .gitignore\", \"top\": 3}");
      assertEquals(r.body(), 200, r.statusCode());
      JsonNode answer = JSON.readTree(r.body());
      assertEquals(run.model(), answer.get("model").asText());
      JsonNode hits = answer.get("hits");
      assertEquals(3, hits.size());
      assertEquals(Long.toString(gitignore), hits.get(0).get("id").asText());
      assertEquals(GITIGNORE, hits.get(0).get("text").asText());
      assertTrue(hits.get(0).get("similarity").asDouble() >= hits.get(1).get("similarity").asDouble());
      JsonNode hybrid = JSON.readTree(post(server, "/search", "{\"query\": \"gitignore pattern matching\", \"top\": 3,"
          + " \"mode\": \"hybrid\", \"rrf_k\": 60}").body());
      assertEquals("hybrid", hybrid.get("mode").asText());
      assertEquals(Long.toString(gitignore), hybrid.get("hits").get(0).get("id").asText());
      assertEquals("first in both lists", 2.0 / 61, hybrid.get("hits").get(0).get("score").asDouble(), 1e-9);
      assertThat(post(server, "/search", "{\"query\": \"x\", \"mode\": \"fuzzy\"}").body(),
          containsString("mode must be \\\"vector\\\" or \\\"hybrid\\\", but was \\\"fuzzy\\\""));
      assertEquals(400, post(server, "/search", "{\"query\": \"\"}").statusCode());
      assertThat(post(server, "/search", "{\"query\": \"x\", \"top\": 0}").body(),
          containsString("top must be an integer from 1 to 1000, but was 0"));
    }

    // The same weights unnormalized: another fingerprint, of which the table holds no vector.
    ModelLoader other = ModelLoader.builder().device("cpu").normalize(false).build();
    try (EmbeddingServer server = ServeTestSupport.start(other, "--jdbcUrl=" + db, "--sourceTable=docs",
        "--normalize=false")) {
      HttpResponse<String> r = post(server, "/search", "{\"query\": \"gitignore patterns\"}");
      assertEquals(409, r.statusCode());
      String message = JSON.readTree(r.body()).get("error").get("message").asText();
      assertThat(message, containsString("docs_embeddings holds no vectors of the served model (all-minilm-l6-v2"));
      assertThat(message, containsString("unnormalized"));
      assertThat(message, containsString("; it holds vectors of " + run.model() + ": serve the model that embedded"
          + " it, or run the job with this one"));
    }
  }
}
