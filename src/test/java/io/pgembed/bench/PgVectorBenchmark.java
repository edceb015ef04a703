package io.pgembed.bench;

import io.pgembed.db.Layout;
import io.pgembed.commands.SearchCommand;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.RowKey;
import io.pgembed.db.TableNames;
import io.pgembed.db.VectorType;
import io.pgembed.embed.VectorCoder;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import io.pgembed.write.VectorWriter;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;

/**
 * The job's pgvector targets against real[] on one real PostgreSQL with pgvector ({@link PgVectorServer}), same
 * vectors, same run: {@code runners/bench-pgvector.sh [--rows=100000] [--queries=200] [--scanQueries=5]
 * [--writeBatchSize=500]}.
 * Prints the job's write rate (JdbcIO upserts through {@link VectorWriter}) into real[], vector(384) and
 * halfvec(384); the HNSW index build time; and search latency: real[] (every vector through a cursor into Java)
 * against vector(384) through its HNSW index, with the index's recall@10 against the exact answer.
 */
public final class PgVectorBenchmark {
  private static final String FP = "bench-model";

  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 100_000);
    int queries = EncoderBenchmark.intArg(args, "queries", 200);
    int batch = EncoderBenchmark.intArg(args, "writeBatchSize", 500);
    String url = PgVectorServer.newDatabase("bench");
    Database db = new Database(url, null, null);
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE src (id bigint PRIMARY KEY, content text)");
      s.execute("INSERT INTO src SELECT i, 'row ' || i FROM generate_series(0, " + (rows - 1) + ") i");
    }
    for (VectorType type : VectorType.values()) {
      String target = "src_" + type.sqlName().replace("[]", "") + "_embeddings";
      EmbeddingTables tables = new EmbeddingTables(
          TableNames.of("src", "id", "content", null, target, "embedding", "embedding_failures"), 3, 100);
      Layout layout;
      try (Connection c = db.connect()) {
        layout = EmbeddingSchema.prepare(c, tables, 384, type);
      }
      double rate = write(db, tables, layout, rows, batch);
      System.out.printf("writes into %-12s %,9.0f vectors/s (%,d rows, inserts)%n", layout.vectorType()
          .declaration(384), rate, rows);
    }
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      long t0 = System.nanoTime();
      s.execute("CREATE INDEX ON src_vector_embeddings USING hnsw (embedding vector_cosine_ops)");
      s.execute("ANALYZE src_vector_embeddings");
      System.out.printf("HNSW index build (vector_cosine_ops, m=16, ef_construction=64): %.1f s for %,d rows%n",
          (System.nanoTime() - t0) / 1e9, rows);
    }
    // Queries near a stored row (as a paraphrase is near its row), so that its cluster holds true neighbours.
    Random random = new Random(7);
    int scans = Math.min(queries, EncoderBenchmark.intArg(args, "scanQueries", 5));
    double scanMs = 0;
    double indexMs = 0;
    double exactSqlMs = 0;
    int found = 0;
    int firstFound = 0;
    for (int q = 0; q < queries; q++) {
      float[] query = new ClusteredVectors().apply((long) random.nextInt(rows)).getValue().clone();
      for (int i = 0; i < query.length; i++) {
        query[i] += (float) random.nextGaussian() * 0.01f;
      }
      if (q < scans) {
        long t0 = System.nanoTime();
        SearchCommand.search(options(url, "src_real_embeddings"), query, FP);
        scanMs += (System.nanoTime() - t0) / 1e6;
      }
      long t0 = System.nanoTime();
      List<io.pgembed.search.VectorSearch.Hit> indexed = SearchCommand.search(options(url, "src_vector_embeddings"), query, FP);
      indexMs += (System.nanoTime() - t0) / 1e6;
      t0 = System.nanoTime();
      List<String> exact = exactTop10(db, query);
      exactSqlMs += (System.nanoTime() - t0) / 1e6;
      found += (int) indexed.stream().filter(h -> exact.contains(h.id())).count();
      firstFound += indexed.get(0).id().equals(exact.get(0)) ? 1 : 0;
    }
    System.out.printf("search top-10 over %,d rows: real[] scan into Java %.0f ms/query (%d queries); vector(384)"
        + " through HNSW %.1f ms/query, exact ORDER BY without the index %.1f ms/query (%d queries); HNSW recall@10"
        + " %.3f, top hit right %d of %d%n", rows, scanMs / scans, scans, indexMs / queries, exactSqlMs / queries,
        queries, found / (10.0 * queries), firstFound, queries);
  }

  /** The exact top 10 by cosine distance, computed by PostgreSQL with the index turned off. */
  private static List<String> exactTop10(Database db, float[] query) throws Exception {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCAL enable_indexscan = off");
      }
      List<String> ids = new java.util.ArrayList<>();
      try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT artifact_id::text FROM src_vector_embeddings"
          + " ORDER BY embedding <=> CAST(CAST(? AS real[]) AS vector) LIMIT 10")) {
        ps.setObject(1, query);
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            ids.add(rs.getString(1));
          }
        }
      }
      c.commit();
      return ids;
    }
  }

  /**
   * Vectors with the structure of real embeddings: 1,000 topics (random directions), each row its topic plus
   * noise, so that a row's true neighbours are its topic's rows (uniform random vectors have no neighbours worth
   * the name: every pair is nearly orthogonal).
   */
  static final class ClusteredVectors extends org.apache.beam.sdk.transforms.SimpleFunction<Long,
      org.apache.beam.sdk.values.KV<RowKey, float[]>> {
    @Override
    public org.apache.beam.sdk.values.KV<RowKey, float[]> apply(Long id) {
      Random topic = new Random(id % 1000);
      Random noise = new Random(id);
      float[] v = new float[384];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (topic.nextGaussian() + noise.nextGaussian() * 0.6) * 0.05f;
      }
      return org.apache.beam.sdk.values.KV.of(
          new RowKey(Long.toString(id), java.nio.ByteBuffer.allocate(32).putLong(id).array()), v);
    }
  }

  private static SearchOptions options(String url, String target) {
    return OptionSources.parse(new String[] {"--jdbcUrl=" + url, "--sourceTable=src", "--targetTable=" + target,
        "--top=10", "--query=unused"}, Map.of(), SearchOptions.class);
  }

  private static double write(Database db, EmbeddingTables tables, Layout layout, int rows, int batch) {
    Pipeline p = Pipeline.create(PipelineOptionsFactory.fromArgs("--targetParallelism=2", "--enforceImmutability=false",
        "--enforceEncodability=false").create());
    p.apply(GenerateSequence.from(0).to(rows))
        .apply(MapElements.via(new ClusteredVectors()))
        .setCoder(KvCoder.of(RowKey.Coder.of(), VectorCoder.of()))
        .apply(VectorWriter.vectors(db, tables.upsertStatement(layout), FP, batch));
    long t0 = System.nanoTime();
    p.run().waitUntilFinish();
    return rows / ((System.nanoTime() - t0) / 1e9);
  }
}
