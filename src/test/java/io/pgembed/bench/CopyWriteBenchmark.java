package io.pgembed.bench;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Layout;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TableNames;
import io.pgembed.db.VectorType;
import io.pgembed.write.WriteMethod;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * The job's two write methods side by side: {@code runners/bench-copy.sh [--rows=100000] [--rounds=2]
 * [--writeBatchSize=500]}. For real[], vector(384) and halfvec(384) targets on one Debian PostgreSQL with pgvector
 * ({@code -Donly=vector} for one type), each round writes {@code rows} vectors made inside the pipeline (as the model
 * hands them over) through {@link io.pgembed.write.VectorWriter#upserts}: with {@code statements} (JdbcIO's batches
 * of the one-row upsert) and with {@code copy} (binary COPY into a temporary table and one upsert per batch), into an
 * empty target (inserts), then the same rows again (replacing upserts). After each method's writes the target's
 * contents are summed (a hash of every row's vector, model and sha): the two methods must leave the same table.
 */
public final class CopyWriteBenchmark {
  private CopyWriteBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 100_000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
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
        double jdbcInsert = WriteBenchmark.write(db, tables, layout, rows, batch, WriteMethod.STATEMENTS);
        double jdbcUpsert = WriteBenchmark.write(db, tables, layout, rows, batch, WriteMethod.STATEMENTS);
        String byStatements = contents(db, target);
        truncate(db, target);
        double copyInsert = WriteBenchmark.write(db, tables, layout, rows, batch, WriteMethod.COPY);
        double copyUpsert = WriteBenchmark.write(db, tables, layout, rows, batch, WriteMethod.COPY);
        String byCopy = contents(db, target);
        if (!byCopy.equals(byStatements)) {
          throw new IllegalStateException(type + ": copy left " + byCopy + ", statements " + byStatements);
        }
        System.out.printf("%-12s round %d, %,d vectors, --writeBatchSize=%d, vectors/s: statements %,.0f inserting"
            + " / %,.0f replacing; copy %,.0f / %,.0f (%.2fx / %.2fx); same table: %s%n",
            layout.vectorType().declaration(384), r, rows, batch, jdbcInsert, jdbcUpsert, copyInsert, copyUpsert,
            copyInsert / jdbcInsert, copyUpsert / jdbcUpsert, byCopy);
      }
    }
  }

  private static void truncate(Database db, String target) throws Exception {
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE " + target);
    }
  }

  /** Rows, and a sum of hashes of every row's id, vector (as text), model and sha. */
  private static String contents(Database db, String target) throws Exception {
    try (Connection c = db.connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*), sum(hashtext(artifact_id || embedding::text || model"
            + " || coalesce(encode(content_sha256, 'hex'), '-'))::bigint) FROM " + target)) {
      rs.next();
      return rs.getLong(1) + " rows, hash sum " + rs.getLong(2);
    }
  }
}
