package io.pgembed.bench;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Layout;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.RowKey;
import io.pgembed.db.TableNames;
import io.pgembed.db.VectorType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import org.apache.beam.sdk.values.KV;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * A write path for a GPU worker, measured before it is built: {@code runners/bench-copy.sh [--rows=100000]
 * [--rounds=2] [--copyBatch=5000] [--writeBatchSize=500]}. For real[], vector(384) and halfvec(384) targets on one
 * Debian PostgreSQL with pgvector, side by side: the job's JdbcIO batch upserts ({@link WriteBenchmark#write}, two
 * writers) against one connection that, per batch, copies the vectors in PostgreSQL's binary COPY format into a
 * temporary table and upserts them from it in one statement with the job's semantics (the failures of those ids
 * cleared, the vector, model, hash and time replaced on a conflict). Inserts into an empty target, then the same
 * rows again (replacing upserts). {@code -Dwriters=N} COPY connections (2), {@code -Donly=vector} one type,
 * {@code -DnativeVector=true} a vector(384) target's vectors in pgvector's own binary form.
 */
public final class CopyWriteBenchmark {
  private static final byte[] HEADER = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};

  private CopyWriteBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 100_000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
    int copyBatch = EncoderBenchmark.intArg(args, "copyBatch", 5000);
    int batch = EncoderBenchmark.intArg(args, "writeBatchSize", 500);
    String url = PgVectorServer.newDatabase("copybench");
    Database db = new Database(url, null, null);
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE src (id bigint PRIMARY KEY, content text)");
    }
    String only = System.getProperty("only");
    for (VectorType type : VectorType.values()) {
      if (only != null && !type.sqlName().equals(only)) {
        continue;
      }
      String target = "src_" + type.sqlName().replace("[]", "") + "_embeddings";
      EmbeddingTables tables = new EmbeddingTables(
          TableNames.of("src", "id", "content", null, target, "embedding", "embedding_failures"), 3, 100);
      Layout layout;
      try (Connection c = db.connect()) {
        layout = EmbeddingSchema.prepare(c, tables, 384, type);
      }
      for (int r = 1; r <= rounds; r++) {
        truncate(db, target);
        double jdbcInsert = WriteBenchmark.write(db, tables, layout, rows, batch);
        double jdbcUpsert = WriteBenchmark.write(db, tables, layout, rows, batch);
        truncate(db, target);
        double copyInsert = copy(db, tables, layout, rows, copyBatch);
        double copyUpsert = copy(db, tables, layout, rows, copyBatch);
        System.out.printf("%-12s round %d, %,d vectors/s: JdbcIO upserts %,.0f inserting / %,.0f replacing; binary"
            + " COPY + one upsert per %,d: %,.0f / %,.0f (%.2fx / %.2fx)%n", layout.vectorType().declaration(384), r,
            rows, jdbcInsert, jdbcUpsert, copyBatch, copyInsert, copyUpsert, copyInsert / jdbcInsert,
            copyUpsert / jdbcUpsert);
      }
    }
  }

  private static void truncate(Database db, String target) throws Exception {
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE " + target);
    }
  }

  /**
   * The COPY path on {@code -Dwriters} connections (default 2, as the JdbcIO path's two writers), each writing its
   * share of the rows; the vectors are made before the clock starts (a writer receives them from the model), and
   * the encoding into COPY's format is timed. Vectors/s.
   */
  private static double copy(Database db, EmbeddingTables tables, Layout layout, int rows, int batchRows)
      throws Exception {
    int writers = Integer.getInteger("writers", 2);
    WriteBenchmark.VectorOf make = new WriteBenchmark.VectorOf();
    java.util.List<KV<RowKey, float[]>> all = new java.util.ArrayList<>(rows);
    for (long id = 0; id < rows; id++) {
      all.add(make.apply(id));
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
    long t0 = System.nanoTime();
    java.util.List<java.util.concurrent.Future<long[]>> parts = new java.util.ArrayList<>();
    for (int w = 0; w < writers; w++) {
      java.util.List<KV<RowKey, float[]>> share = all.subList(rows * w / writers, rows * (w + 1) / writers);
      parts.add(pool.submit(() -> copyShare(db, tables, layout, share, batchRows)));
    }
    long[] sum = new long[3];
    for (var f : parts) {
      long[] t = f.get();
      for (int i = 0; i < 3; i++) {
        sum[i] += t[i];
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    pool.shutdown();
    System.out.printf("  (copy path, %d writers, summed over them: encoding %.1f s, COPY %.1f s, upsert from the"
        + " temporary table %.1f s; wall %.1f s)%n", writers, sum[0] / 1e9, sum[1] / 1e9, sum[2] / 1e9, seconds);
    return rows / seconds;
  }

  /** One writer's rows, in batches: nanoseconds encoding, copying, upserting. */
  private static long[] copyShare(Database db, EmbeddingTables tables, Layout layout,
      java.util.List<KV<RowKey, float[]>> share, int batchRows) throws Exception {
    String target = tables.names().target().quoted();
    String vec = tables.names().embeddingColumn().quoted();
    String upsert = "WITH cleared AS (DELETE FROM " + tables.names().failures().quoted() + " WHERE target_table = '"
        + tables.names().target() + "' AND artifact_id IN (SELECT id FROM pg_temp.incoming)) INSERT INTO " + target
        + " (artifact_id, " + vec + ", model, content_sha256, embedded_at) SELECT CAST(id AS "
        + layout.idCastType() + "), CAST(v AS " + layout.vectorType().sqlName() + "), model, sha, now() FROM"
        + " pg_temp.incoming ORDER BY 1 ON CONFLICT (artifact_id) DO UPDATE SET " + vec + " = EXCLUDED." + vec
        + ", model = EXCLUDED.model, content_sha256 = EXCLUDED.content_sha256, embedded_at = EXCLUDED.embedded_at";
    long encode = 0;
    long copying = 0;
    long upserting = 0;
    // -DnativeVector=true: a vector(384) target's vectors in pgvector's own binary form (int16 dimensions, int16
    // unused, the float4s), half the bytes of a real[] with per-element lengths, and no cast on the server.
    boolean nativeVector = Boolean.getBoolean("nativeVector") && layout.vectorType() == VectorType.VECTOR;
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (id text, v " + (nativeVector ? "vector" : "real[]")
            + ", model text, sha bytea) ON COMMIT DELETE ROWS");
      }
      c.commit();
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      for (int start = 0; start < share.size(); start += batchRows) {
        long e0 = System.nanoTime();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(batchRows * 1700);
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(HEADER);
        out.writeInt(0);
        out.writeInt(0);
        for (KV<RowKey, float[]> row : share.subList(start, Math.min(share.size(), start + batchRows))) {
          out.writeShort(4);
          text(out, row.getKey().id());
          float[] v = row.getValue();
          if (nativeVector) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + 4 * v.length);
            b.putShort((short) v.length).putShort((short) 0).asFloatBuffer().put(v);
            out.writeInt(b.capacity());
            out.write(b.array());
          } else {
            out.writeInt(20 + 8 * v.length);
            out.writeInt(1); // dimensions
            out.writeInt(0); // no nulls
            out.writeInt(700); // float4
            out.writeInt(v.length);
            out.writeInt(1);
            for (float x : v) {
              out.writeInt(4);
              out.writeFloat(x);
            }
          }
          text(out, "bench-model");
          byte[] sha = row.getKey().contentSha256();
          out.writeInt(sha.length);
          out.write(sha);
        }
        out.writeShort(-1);
        long e1 = System.nanoTime();
        copy.copyIn("COPY pg_temp.incoming FROM STDIN (FORMAT binary)", new ByteArrayInputStream(bytes.toByteArray()));
        long e2 = System.nanoTime();
        try (Statement s = c.createStatement()) {
          s.executeUpdate(upsert);
        }
        c.commit();
        encode += e1 - e0;
        copying += e2 - e1;
        upserting += System.nanoTime() - e2;
      }
    }
    return new long[] {encode, copying, upserting};
  }

  private static void text(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }
}
