package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.firstValue;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.pgembed.commands.SearchCommand;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TableNames;
import io.pgembed.db.TestDatabase;
import io.pgembed.db.VectorType;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The job against a real PostgreSQL with real pgvector ({@link PgVectorServer}: Debian's PostgreSQL 15 with
 * pgvector built from runners/vendor/): vector(384) and halfvec(384) targets created on request and upserted with
 * the real model's exact values, the HNSW index built after the run, search answered by that index (EXPLAIN says
 * so) with the right top hit for a paraphrase, and a dimension mismatch refused before anything is read.
 */
public class PgVectorTest {
  /** Texts about distinct software packages; the search below paraphrases one of them. */
  private static List<String> prose() {
    List<String> out = new ArrayList<>();
    for (TestModels.CorpusText t : TestModels.parityCorpus()) {
      if (t.kind().equals("prose")) {
        out.add(t.text());
      }
    }
    return out;
  }

  private static final String GITIGNORE = "utility library for gitignore style pattern matching of file paths (Python 3)";

  private static Map<Long, String> createDocs(String db) throws Exception {
    List<String> texts = prose();
    return PipelineTestSupport.createDocs(db, texts.size(), i -> texts.get((int) i - 1));
  }

  private static float[] embed(String text) {
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      return p.embedTexts(List.of(text))[0];
    }
  }

  @Test
  public void aVectorTargetIsCreatedUpsertedIndexedAndSearchedThroughTheIndex() throws Exception {
    String db = PgVectorServer.newDatabase("pgv");
    Map<Long, String> docs = createDocs(db);
    RunReport first = PipelineTestSupport.runWhole(
        options(db, "--sourceTable=docs", "--vectorType=vector"), ModelLoader.builder().build());
    assertEquals(RunStatus.COMPLETE, first.status());
    assertNull(first.index());
    assertEquals(docs.size(), first.embedded());
    assertEquals("vector(384)", firstValue(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        + " WHERE attrelid = 'docs_embeddings'::regclass AND attname = 'embedding'"));
    // Each stored vector is the model's own, to float precision (written from a binary float4[], cast by pgvector).
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(docs.size(), stored.size());
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      List<Long> ids = new ArrayList<>(docs.keySet());
      float[][] expected = p.embedTexts(ids.stream().map(docs::get).toList());
      for (int i = 0; i < ids.size(); i++) {
        float[] got = stored.get(Long.toString(ids.get(i)));
        for (int d = 0; d < expected[i].length; d++) {
          assertEquals("row " + ids.get(i) + " component " + d, expected[i][d], got[d], 1e-6f);
        }
      }
    }
    // A table big enough that PostgreSQL's planner prefers the index (at 1,000 rows it still sorts a scan): 1,850
    // more rows whose vectors (random directions, the model's fingerprint, the text's hash) are already current.
    execute(db, "INSERT INTO docs SELECT i, 'filler row ' || i FROM generate_series(1001, 2850) i");
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO docs_embeddings (artifact_id, embedding, model,"
            + " content_sha256) SELECT id, (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, 384)"
            + " WHERE id > 0)::vector, ?, sha256(convert_to(content, 'UTF8')) FROM docs WHERE id > 1000")) {
      ps.setString(1, first.model());
      assertEquals(1850, ps.executeUpdate());
    }
    // The HNSW index is built after a complete run (here one with nothing left to embed), and reported.
    RunReport indexed = PipelineTestSupport.runWhole(
        options(db, "--sourceTable=docs", "--vectorType=vector", "--hnswIndex=true"), ModelLoader.builder().build());
    assertEquals(0, indexed.read());
    assertNotNull(indexed.index());
    assertTrue(indexed.index().built());
    assertEquals("docs_embeddings_embedding_idx", indexed.index().name());
    assertThat(firstValue(db, "SELECT indexdef FROM pg_indexes WHERE indexname = 'docs_embeddings_embedding_idx'"),
        containsString("USING hnsw (embedding vector_cosine_ops)"));
    assertEquals(indexed.index().seconds(), (Double) indexed.toMap().get("index_build_seconds"), 0);

    // search is one ORDER BY <=> LIMIT k through the index.
    String fingerprint = first.model();
    String sql = new io.pgembed.db.SearchQueries(TableNames.of("docs", "id", "content", null, null, "embedding",
        "embedding_failures")).nearestQuery(fingerprint, VectorType.VECTOR, 5);
    StringBuilder plan = new StringBuilder();
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("EXPLAIN " + sql)) {
      ps.setObject(1, embed("python library that matches paths against .gitignore patterns"));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
    }
    assertThat(plan.toString(), containsString("Index Scan using docs_embeddings_embedding_idx"));
    assertThat(plan.toString(), not(containsString("Seq Scan on docs_embeddings")));

    SearchOptions s = OptionSources.parse(new String[] {"--jdbcUrl=" + db, "--sourceTable=docs", "--top=3",
        "--query=a Python package that tells whether a file path matches patterns like the ones in .gitignore"},
        Map.of(), SearchOptions.class);
    List<io.pgembed.search.VectorSearch.Hit> hits =
        SearchCommand.run(s, TestModels.bundled(), TestModels.bundled().newPredictor());
    assertEquals(3, hits.size()); // through the index, with the 1,850 other rows in it
    assertEquals(GITIGNORE, hits.get(0).text());
    long gitignoreId = docs.entrySet().stream().filter(e -> e.getValue().equals(GITIGNORE)).findFirst()
        .orElseThrow().getKey();
    assertEquals(Long.toString(gitignoreId), hits.get(0).id());
    // The similarity is the cosine of the two vectors, computed by pgvector.
    assertEquals(TestModels.cosine(embed(s.getQuery()), stored.get(hits.get(0).id())), hits.get(0).score(), 1e-5);
    assertTrue(hits.get(0).score() > hits.get(1).score());

    // A rerun embeds nothing and finds the index there.
    RunReport second = PipelineTestSupport.runWhole(
        options(db, "--sourceTable=docs", "--vectorType=vector", "--hnswIndex=true"), ModelLoader.builder().build());
    assertEquals(0, second.read());
    assertFalse(second.index().built());
    assertNull(second.toMap().get("index_build_seconds"));
    assertEquals("1", firstValue(db, "SELECT count(*) FROM pg_indexes WHERE tablename = 'docs_embeddings'"
        + " AND indexdef LIKE '%hnsw%'"));
  }

  @Test
  public void aHalfvecTargetHoldsTheVectorsToHalfPrecision() throws Exception {
    String db = PgVectorServer.newDatabase("pgv_half");
    Map<Long, String> docs = createDocs(db);
    RunReport run = PipelineTestSupport.runWhole(
        options(db, "--sourceTable=docs", "--vectorType=halfvec", "--hnswIndex=true"), ModelLoader.builder().build());
    assertEquals(docs.size(), run.embedded());
    assertEquals("halfvec(384)", firstValue(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        + " WHERE attrelid = 'docs_embeddings'::regclass AND attname = 'embedding'"));
    assertThat(firstValue(db, "SELECT indexdef FROM pg_indexes WHERE indexname = '" + run.index().name() + "'"),
        containsString("halfvec_cosine_ops"));
    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    float[] expected = embed(docs.get(1L));
    float[] got = stored.get("1");
    for (int d = 0; d < expected.length; d++) {
      // A half float keeps 11 significant bits: within 2^-11 relative, and subnormals near zero.
      assertEquals("component " + d, expected[d], got[d], Math.abs(expected[d]) / 2048 + 1e-7);
    }
    assertThat(TestModels.cosine(expected, got), greaterThan(0.99999));
    SearchOptions s = OptionSources.parse(new String[] {"--jdbcUrl=" + db, "--sourceTable=docs", "--top=1",
        "--query=a Python package that tells whether a file path matches patterns like the ones in .gitignore"},
        Map.of(), SearchOptions.class);
    assertEquals(GITIGNORE,
        SearchCommand.run(s, TestModels.bundled(), TestModels.bundled().newPredictor()).get(0).text());
  }

  @Test
  public void aDimensionMismatchFailsAtStartUpBeforeAnythingIsRead() throws Exception {
    String db = PgVectorServer.newDatabase("pgv_dims");
    createDocs(db);
    execute(db, "CREATE TABLE docs_embeddings (artifact_id bigint PRIMARY KEY, embedding vector(768) NOT NULL,"
        + " model text NOT NULL, content_sha256 bytea, embedded_at timestamptz NOT NULL DEFAULT now())");
    String[] launched = PipelineTestSupport.launch("run", "--jdbcUrl=" + db, "--sourceTable=docs", "--device=cpu");
    assertEquals("2", launched[0]);
    assertThat(launched[1], containsString("docs_embeddings.embedding is vector(768) but the model gives"
        + " 384-dimensional vectors"));
    assertEquals("0", firstValue(db, "SELECT count(*) FROM docs_embeddings"));

    // Asking for another type than the existing column has is refused, naming both and the fixes.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PipelineTestSupport.prepare(options(db, "--sourceTable=docs", "--vectorType=halfvec")));
    assertThat(e.getMessage(), containsString("--vectorType=halfvec but docs_embeddings.embedding already exists"
        + " as vector(768)"));
  }

  @Test
  public void pgvectorTypesNeedTheExtensionAndTheIndexNeedsAPgvectorColumn() throws Exception {
    String db = TestDatabase.newDatabase("nopgv"); // zonky's server: no pgvector at all
    PipelineTestSupport.createDocs(db, 3, i -> "text " + i);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PipelineTestSupport.prepare(options(db, "--sourceTable=docs", "--vectorType=vector")));
    assertThat(e.getMessage(), containsString("--vectorType=vector needs pgvector in database"));
    assertThat(e.getMessage(), containsString("the server has no pgvector"));
    assertEquals(0, TestDatabase.count(db, "SELECT count(*) FROM pg_class WHERE relname = 'docs_embeddings'"));

    e = assertThrows(IllegalArgumentException.class,
        () -> PipelineTestSupport.prepare(options(db, "--sourceTable=docs", "--hnswIndex=true")));
    assertThat(e.getMessage(), containsString("--hnswIndex needs a pgvector target"));
    e = assertThrows(IllegalArgumentException.class,
        () -> PipelineTestSupport.prepare(options(db, "--sourceTable=docs", "--vectorType=float8")));
    assertThat(e.getMessage(), containsString("--vectorType=float8 is not a vector type: use real[], vector or"
        + " halfvec"));
  }
}
