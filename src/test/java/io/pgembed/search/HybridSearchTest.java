package io.pgembed.search;

import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.firstValue;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.db.TestDatabase.count;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import io.pgembed.PipelineTestSupport;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TableNames;
import io.pgembed.db.TextSearchSql;
import io.pgembed.db.VectorType;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import io.pgembed.pipeline.RunReport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * Hybrid search on a real PostgreSQL with pgvector: a code token only keywords find ranks its row first in hybrid
 * mode and not in vector mode; a paraphrase sharing no keyword still finds its row; EXPLAIN shows the full-text GIN
 * index and the HNSW index both used; chunked targets give one hit per document; --textSearchIndex is refused to a
 * role that does not own the table, with the statement for its owner.
 */
public class HybridSearchTest {
  static final String GITIGNORE = "utility library for gitignore style pattern matching of file paths (Python 3)";
  static final String CODE = "relay module for the widget bus, part QX4471, with notes on its mounting bracket, the"
      + " wiring harness and the torque of its screws";
  /** Codes that look like it (short rows: nearly nothing but the code), which the vectors cannot tell apart. */
  static final List<String> LOOKALIKES = List.of("spare part QX4417", "spare part QX4771", "spare part QX7441",
      "spare part QY4471", "spare part QX4470", "spare part XQ4471");

  static List<String> texts() {
    List<String> out = new ArrayList<>();
    for (TestModels.CorpusText t : TestModels.parityCorpus()) {
      if (t.kind().equals("prose")) {
        out.add(t.text());
      }
    }
    out.add(CODE);
    out.addAll(LOOKALIKES);
    return out;
  }

  static float[] embed(String text) {
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      return p.embedTexts(List.of(text))[0];
    }
  }

  static List<VectorSearch.Hit> search(String db, TableNames names, String fp, String query, boolean hybrid)
      throws Exception {
    io.pgembed.db.Database d = io.pgembed.options.DatabaseOptions.database(
        OptionSources.parse(new String[] {"--jdbcUrl=" + db}, Map.of(), SearchOptions.class));
    return hybrid
        ? VectorSearch.hybrid(d, names, "english", embed(query), query, fp, new TextSearchSql.Fusion(5, 50, 60, 1, 1))
        : VectorSearch.search(d, names, embed(query), fp, 5);
  }

  @Test
  public void keywordsAndParaphrasesBothFindTheirRowThroughBothIndexes() throws Exception {
    String db = PgVectorServer.newDatabase("hybrid");
    List<String> texts = texts();
    PipelineTestSupport.createDocs(db, texts.size(), i -> texts.get((int) i - 1));
    RunReport run = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--vectorType=vector",
        "--hnswIndex=true", "--textSearchIndex=true"), ModelLoader.builder().build());
    assertThat(firstValue(db, "SELECT indexdef FROM pg_indexes WHERE indexname = 'docs_fts_idx'"),
        containsString("USING gin (to_tsvector('english'::regconfig, content))"));
    TableNames names = TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures");
    String code = Long.toString(texts.indexOf(CODE) + 1);
    String gitignore = Long.toString(texts.indexOf(GITIGNORE) + 1);

    // A code token: only the full-text side knows it.
    List<VectorSearch.Hit> byVector = search(db, names, run.model(), "QX4471", false);
    List<VectorSearch.Hit> byBoth = search(db, names, run.model(), "QX4471", true);
    assertNotEquals("vector search alone does not put it first", code, byVector.get(0).id());
    assertEquals(code, byBoth.get(0).id());
    assertEquals(CODE, byBoth.get(0).text());

    // A paraphrase sharing no keyword with its row: the vector side still finds it.
    String paraphrase = "decide which directories git should leave untracked";
    assertEquals(0, count(db, "SELECT count(*) FROM docs WHERE to_tsvector('english', content)"
        + " @@ websearch_to_tsquery('english', '" + paraphrase + "')"));
    assertEquals(gitignore, search(db, names, run.model(), paraphrase, false).get(0).id());
    assertEquals(gitignore, search(db, names, run.model(), paraphrase, true).get(0).id());

    // Enough rows that the planner takes both indexes: 3,000 more whose vectors are current.
    execute(db, "INSERT INTO docs SELECT i, 'filler row ' || i FROM generate_series(1001, 4000) i");
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("INSERT INTO docs_embeddings (artifact_id, embedding, model,"
            + " content_sha256) SELECT id, (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, 384)"
            + " WHERE id > 0)::vector, ?, sha256(convert_to(content, 'UTF8')) FROM docs WHERE id > 1000")) {
      ps.setString(1, run.model());
      ps.executeUpdate();
    }
    execute(db, "ANALYZE docs; ANALYZE docs_embeddings");
    String plan = explain(db, new TextSearchSql(names, "english").hybridQuery(run.model(), VectorType.VECTOR,
        new TextSearchSql.Fusion(5, 50, 60, 1, 1), false), "QX4471");
    assertThat(plan, containsString("Bitmap Index Scan on docs_fts_idx"));
    assertThat(plan, containsString("Index Scan using docs_embeddings_embedding_idx"));
    assertThat(plan, not(containsString("Seq Scan on docs_embeddings")));
    assertEquals(code, search(db, names, run.model(), "QX4471", true).get(0).id());
    assertEquals("the README's SQL for applications gives the same first hit", code, readmeSql(db, run.model(), "QX4471"));
  }

  /** The hybrid SQL the README shows an application, run on docs: its first hit's id. */
  private static String readmeSql(String db, String fingerprint, String text) throws Exception {
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
    int section = readme.indexOf("## Hybrid search");
    int start = readme.indexOf("```sql\n", section) + 7;
    String sql = readme.substring(start, readme.indexOf("```", start)).replace("artifacts_embeddings", "docs_embeddings")
        .replace("artifacts", "docs");
    List<Object> params = new ArrayList<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\$([123])").matcher(sql);
    while (m.find()) {
      params.add(switch (m.group(1)) {
        case "1" -> embed(text);
        case "2" -> text;
        default -> fingerprint;
      });
    }
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement(sql.replaceAll("\\$[123]", "?"))) {
      for (int i = 0; i < params.size(); i++) {
        ps.setObject(i + 1, params.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static String explain(String db, String sql, String text) throws Exception {
    StringBuilder plan = new StringBuilder();
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("EXPLAIN " + sql)) {
      ps.setObject(1, embed(text));
      ps.setString(2, text);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
    }
    return plan.toString();
  }

  @Test
  public void chunkedDocumentsGiveOneHitEachAndTheIndexIsTheOwnersToCreate() throws Exception {
    String db = PgVectorServer.newDatabase("hybridchunks");
    List<String> texts = texts();
    // Long documents: each text repeated, so each has several chunks; the code token in one chunk of one document.
    PipelineTestSupport.createDocs(db, 40, i -> (texts.get((int) i - 1) + ". ").repeat(30)
        + (i == 7 ? CODE : "the end"));
    execute(db, "CREATE ROLE hybrid_reader LOGIN; GRANT SELECT ON docs TO hybrid_reader;"
        + " GRANT CREATE ON SCHEMA public TO hybrid_reader");
    String[] refused = PipelineTestSupport.launch("run", "--jdbcUrl=" + db, "--username=hybrid_reader",
        "--device=cpu", "--sourceTable=docs", "--textSearchIndex=true");
    assertEquals(refused[1], "2", refused[0]);
    assertThat(refused[1], containsString("--textSearchIndex=true needs an index on docs, which only its owner"
        + " (postgres) may create, and user hybrid_reader is not a member of that role. Have the owner run: CREATE"
        + " INDEX CONCURRENTLY IF NOT EXISTS \"docs_fts_idx\" ON \"docs\" USING gin (to_tsvector('english'::regconfig,"
        + " \"content\")); then run again"));

    RunReport run = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--vectorType=vector",
        "--chunking=tokens", "--textSearchIndex=true"), ModelLoader.builder().build());
    TableNames names = io.pgembed.options.TableOptions.tableNames(OptionSources.parse(
        new String[] {"--sourceTable=docs", "--chunking=tokens"}, Map.of(), SearchOptions.class));
    List<VectorSearch.Hit> hits = search(db, names, run.model(), "QX4471 widget relay", true);
    assertEquals("7", hits.get(0).id());
    assertThat("the best chunk: the one with the code", hits.get(0).text(), containsString("QX4471"));
    assertEquals("one hit per document", hits.size(), new HashSet<>(hits.stream().map(VectorSearch.Hit::id).toList())
        .size());
  }
}
