package io.pgembed.bench;

import io.pgembed.db.Layout;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.RowKey;
import io.pgembed.db.TableNames;
import io.pgembed.embed.VectorCoder;
import io.pgembed.write.VectorWriter;
import io.pgembed.write.WriteMethod;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.Statement;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.SimpleFunction;
import org.apache.beam.sdk.values.KV;

/**
 * Writes precomputed 384-dimension vectors through the job's own JdbcIO write ({@link VectorWriter}) into a
 * {@code real[]} target on an embedded PostgreSQL, and prints vectors/s: {@code runners/bench-scale.sh writes
 * [--rows=100000] [--rounds=3] [--writeBatchSize=500]}. Each round writes fresh rows (inserts), then the same rows
 * again (upserts that replace).
 */
public final class WriteBenchmark {
  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 100_000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 3);
    int batch = EncoderBenchmark.intArg(args, "writeBatchSize", 500);
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      Database db = new Database(url, null, null);
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE src (id bigint PRIMARY KEY, content text)");
      }
      EmbeddingTables tables = new EmbeddingTables(
          TableNames.of("src", "id", "content", null, null, "embedding", "embedding_failures"), 3, 100);
      Layout layout;
      try (Connection c = db.connect()) {
        layout = EmbeddingSchema.prepare(c, tables, 384);
      }
      for (int r = 1; r <= rounds; r++) {
        try (Connection c = db.connect();
            Statement s = c.createStatement()) {
          s.execute("TRUNCATE src_embeddings");
        }
        double insert = write(db, tables, layout, rows, batch);
        double upsert = write(db, tables, layout, rows, batch);
        System.out.printf("round %d: %,d vectors: inserts %.0f vectors/s, replacing upserts %.0f vectors/s%n",
            r, rows, insert, upsert);
      }
    }
  }

  static double write(Database db, EmbeddingTables tables, Layout layout, int rows, int batch) {
    return write(db, tables, layout, rows, batch, WriteMethod.STATEMENTS);
  }

  /** {@code rows} vectors made in the pipeline and written by the job's {@code method}: vectors/s. */
  static double write(Database db, EmbeddingTables tables, Layout layout, int rows, int batch, WriteMethod method) {
    Pipeline p = Pipeline.create(PipelineOptionsFactory.fromArgs("--targetParallelism=2", "--enforceImmutability=false", "--enforceEncodability=false").create());
    p.apply(GenerateSequence.from(0).to(rows))
        .apply(MapElements.via(new VectorOf()))
        .setCoder(KvCoder.of(RowKey.Coder.of(), VectorCoder.of()))
        .apply(VectorWriter.upserts(db, tables, layout, "bench-model", batch, method));
    long t0 = System.nanoTime();
    p.run().waitUntilFinish();
    return rows / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * A deterministic vector for each id (xorshift, uniform in [-0.05, 0.05): cheap, so that the writes, not the
   * making of the vectors, are timed; 384 Gaussians per row took half a writer's time), and a hash standing for its
   * text's.
   */
  static final class VectorOf extends SimpleFunction<Long, KV<RowKey, float[]>> {
    @Override
    public KV<RowKey, float[]> apply(Long id) {
      long x = id * 0x9E3779B97F4A7C15L + 1;
      float[] v = new float[384];
      for (int i = 0; i < v.length; i++) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        v[i] = ((x >>> 40) / (float) (1 << 24) - 0.5f) * 0.1f;
      }
      return KV.of(new RowKey(Long.toString(id), ByteBuffer.allocate(32).putLong(id).array()), v);
    }
  }
}
