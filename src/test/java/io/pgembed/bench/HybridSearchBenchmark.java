package io.pgembed.bench;

import io.pgembed.PipelineTestSupport;
import io.pgembed.db.Database;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TableNames;
import io.pgembed.db.TextSearchSql;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import io.pgembed.search.VectorSearch;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Hybrid against vector search on one real PostgreSQL with pgvector ({@link PgVectorServer}):
 * {@code runners/bench-hybrid.sh [--rows=100000] [--queries=200]}. The rows are Debian package descriptions
 * ({@code apt-cache dumpavail}, repeated with a variant number to reach {@code rows}); their vectors are stand-ins
 * (random directions of the model's fingerprint: the HNSW index's work does not depend on what they mean), with the
 * HNSW index and the full-text GIN index the job builds (--hnswIndex, --textSearchIndex). The queries are two or
 * three words of random descriptions, embedded by the real model. Each query runs in both modes, alternating;
 * printed: p50 and p95 of each, and their ratios.
 */
public final class HybridSearchBenchmark {
  private HybridSearchBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 100_000);
    int queries = EncoderBenchmark.intArg(args, "queries", 200);
    List<String> descriptions = BenchCorpus.packageDescriptions(Integer.MAX_VALUE, 7);
    if (descriptions.isEmpty()) {
      throw new IllegalStateException("apt-cache dumpavail gave no package descriptions");
    }
    String url = PgVectorServer.newDatabase("hybridbench");
    ModelLoader spec = ModelLoader.builder().device("cpu").build();
    PipelineTestSupport.execute(url, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    var first = PipelineTestSupport.runWhole(PipelineTestSupport.options(url, "--sourceTable=docs",
        "--vectorType=vector"), spec); // creates the target
    String fp = first.model();
    try (Connection c = PipelineTestSupport.connect(url);
        PreparedStatement ps = c.prepareStatement("INSERT INTO docs SELECT i, (?::text[])[1 + (i - 1) % ?] || CASE"
            + " WHEN i > ? THEN ' (variant ' || i || ')' ELSE '' END FROM generate_series(1, ?) i")) {
      ps.setArray(1, c.createArrayOf("text", descriptions.toArray()));
      ps.setInt(2, descriptions.size());
      ps.setInt(3, descriptions.size());
      ps.setInt(4, rows);
      ps.executeUpdate();
    }
    long t0 = System.nanoTime();
    try (Connection c = PipelineTestSupport.connect(url);
        PreparedStatement ps = c.prepareStatement("INSERT INTO docs_embeddings (artifact_id, embedding, model,"
            + " content_sha256) SELECT id, (SELECT array_agg(random() - 0.5)::real[] FROM generate_series(1, 384)"
            + " WHERE id > 0)::vector, ?, sha256(convert_to(content, 'UTF8')) FROM docs")) {
      ps.setString(1, fp);
      ps.executeUpdate();
    }
    System.out.printf("%,d rows (%,d distinct descriptions), stand-in vectors in %.0f s%n", rows, descriptions.size(),
        (System.nanoTime() - t0) / 1e9);
    var indexed = PipelineTestSupport.runWhole(PipelineTestSupport.options(url, "--sourceTable=docs",
        "--vectorType=vector", "--hnswIndex=true", "--textSearchIndex=true"), spec);
    System.out.printf("indexes: HNSW %.1f s, and the full-text GIN index%n", indexed.index().seconds());
    PipelineTestSupport.execute(url, "ANALYZE docs; ANALYZE docs_embeddings");

    Random random = new Random(11);
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < queries; i++) {
      String[] words = descriptions.get(random.nextInt(descriptions.size())).split("\\s+");
      int n = Math.min(words.length, 2 + random.nextInt(2));
      texts.add(String.join(" ", Arrays.copyOfRange(words, 0, n)));
    }
    float[][] vectors;
    try (EmbeddingModel m = spec.load(); EmbeddingPredictor p = m.newPredictor()) {
      vectors = p.embedTexts(texts);
    }
    Database db = DatabaseOptions.database(OptionSources.parse(new String[] {"--jdbcUrl=" + url}, Map.of(),
        SearchOptions.class));
    TableNames names = TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures");
    TextSearchSql.Fusion fusion = new TextSearchSql.Fusion(10, 50, 60, 1, 1);
    for (int i = 0; i < Math.min(20, queries); i++) { // warm-up
      VectorSearch.search(db, names, vectors[i], fp, 10);
      VectorSearch.hybrid(db, names, "english", vectors[i], texts.get(i), fp, fusion);
    }
    long[] vector = new long[queries];
    long[] hybrid = new long[queries];
    for (int i = 0; i < queries; i++) {
      long s = System.nanoTime();
      VectorSearch.search(db, names, vectors[i], fp, 10);
      vector[i] = System.nanoTime() - s;
      s = System.nanoTime();
      VectorSearch.hybrid(db, names, "english", vectors[i], texts.get(i), fp, fusion);
      hybrid[i] = System.nanoTime() - s;
    }
    if (Boolean.getBoolean("slowest")) {
      Integer[] order = new Integer[queries];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, (a, b) -> Long.compare(hybrid[b], hybrid[a]));
      for (int i = 0; i < 8; i++) {
        String q = texts.get(order[i]);
        long matches;
        try (Connection c = PipelineTestSupport.connect(url);
            PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM docs WHERE to_tsvector('english'::regconfig,"
                + " content) @@ websearch_to_tsquery('english'::regconfig, ?)")) {
          ps.setString(1, q);
          try (var rs = ps.executeQuery()) {
            rs.next();
            matches = rs.getLong(1);
          }
        }
        System.out.printf("  slow: %.1f ms (vector %.1f ms), %,d matches: %s%n", hybrid[order[i]] / 1e6,
            vector[order[i]] / 1e6, matches, q);
      }
      try (Connection c = PipelineTestSupport.connect(url);
          PreparedStatement ps = c.prepareStatement("EXPLAIN (ANALYZE, BUFFERS) " + new TextSearchSql(names, "english")
              .hybridQuery(fp, io.pgembed.db.VectorType.VECTOR, fusion, false))) {
        ps.setObject(1, vectors[order[0]]);
        ps.setString(2, texts.get(order[0]));
        try (var rs = ps.executeQuery()) {
          while (rs.next()) {
            System.out.println("  plan: " + rs.getString(1));
          }
        }
      }
    }
    Arrays.sort(vector);
    Arrays.sort(hybrid);
    double v50 = vector[queries / 2] / 1e6;
    double v95 = vector[(int) (queries * 0.95)] / 1e6;
    double h50 = hybrid[queries / 2] / 1e6;
    double h95 = hybrid[(int) (queries * 0.95)] / 1e6;
    System.out.printf("%d queries, top 10 (hybrid: 50 of each list, k = 60), each with a connection from the pool:%n",
        queries);
    System.out.printf("  vector: p50 %.1f ms, p95 %.1f ms%n  hybrid: p50 %.1f ms, p95 %.1f ms%n", v50, v95, h50, h95);
    System.out.printf("  hybrid over vector: p50 %.2fx, p95 %.2fx%n", h50 / v50, h95 / v95);
  }
}
