package io.pgembed.write;

import static io.pgembed.PipelineTestSupport.execute;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.PipelineTestSupport;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Layout;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.RowKey;
import io.pgembed.db.StagedUpsert;
import io.pgembed.db.TableNames;
import io.pgembed.db.TestDatabase;
import io.pgembed.db.VectorType;
import io.pgembed.embed.VectorCoder;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;

/**
 * The COPY write path against the row-by-row upserts, on real PostgreSQL (pgvector's types on Debian's PostgreSQL
 * with pgvector): the same rows, bit for bit the same vectors, the same cleared failure records; a second write
 * replaces; an id twice in one batch is written once with the later vector.
 */
public class CopyUpsertsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final String FP = "test-model sha256:2222";
  private static final int DIM = 384;

  /** {@code n} vectors with edge values: signed zeros, the smallest normal float, 1e-30, the largest half float, exponents from -6 to 2. */
  private static List<KV<RowKey, float[]>> vectors(int n, long seed) {
    Random r = new Random(seed);
    List<KV<RowKey, float[]>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] v = new float[DIM];
      for (int d = 0; d < DIM; d++) {
        v[d] = (float) r.nextGaussian() * (float) Math.pow(10, r.nextInt(9) - 6);
      }
      v[0] = -0.0f;
      v[1] = 0.0f;
      v[2] = i % 2 == 0 ? Float.MIN_NORMAL : 1e-30f;
      v[3] = i % 3 == 0 ? 65504f : -65504f; // the largest a halfvec holds
      byte[] sha = i % 5 == 4 ? null : new byte[] {(byte) i, (byte) (i >> 8), 7};
      out.add(KV.of(new RowKey(Integer.toString(i * 7), sha), v));
    }
    return out;
  }

  private static EmbeddingTables tables(String target) {
    return new EmbeddingTables(
        TableNames.of("docs", "id", "content", null, target, "embedding", "embedding_failures"), 3, 100);
  }

  private static Layout prepare(String db, EmbeddingTables tables, VectorType type) throws Exception {
    try (Connection c = PipelineTestSupport.connect(db)) {
      return EmbeddingSchema.prepare(c, tables, DIM, type);
    }
  }

  private PCollection<KV<RowKey, float[]>> create(TestPipeline pipeline, String name, List<KV<RowKey, float[]>> rows) {
    return pipeline.apply(name, Create.of(rows).withCoder(KvCoder.of(RowKey.Coder.of(), VectorCoder.of())));
  }

  @Test
  public void copyWritesBitForBitWhatStatementsWriteForEveryVectorType() throws Exception {
    String db = PgVectorServer.newDatabase("copyparity");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    Database database = new Database(db, null, null);
    List<KV<RowKey, float[]>> rows = vectors(1200, 42);
    for (VectorType type : VectorType.values()) {
      String name = type.sqlName().replace("[]", "_array");
      EmbeddingTables byStatements = tables("by_statements_" + name);
      EmbeddingTables byCopy = tables("by_copy_" + name);
      Layout layout = prepare(db, byStatements, type);
      prepare(db, byCopy, type);
      PCollection<KV<RowKey, float[]>> in = create(p, "Vectors " + name, rows);
      in.apply("Statements " + name, VectorWriter.upserts(database, byStatements, layout, FP, 500,
          WriteMethod.STATEMENTS));
      in.apply("Copy " + name, VectorWriter.upserts(database, byCopy, layout, FP, 500, WriteMethod.COPY));
    }
    assertEquals(PipelineResult.State.DONE, p.run().waitUntilFinish());
    for (VectorType type : VectorType.values()) {
      String name = type.sqlName().replace("[]", "_array");
      String a = "by_statements_" + name;
      String b = "by_copy_" + name;
      assertEquals(type + " rows", 1200, TestDatabase.count(db, "SELECT count(*) FROM " + b + " WHERE model = '"
          + FP + "'"));
      assertEquals(type + ": rows that differ", 0, TestDatabase.count(db, "SELECT count(*) FROM " + a
          + " a FULL JOIN " + b + " b USING (artifact_id) WHERE a.embedding IS DISTINCT FROM b.embedding"
          + " OR a.content_sha256 IS DISTINCT FROM b.content_sha256 OR a.model IS DISTINCT FROM b.model"));
      if (type != VectorType.HALFVEC) { // halfvec rounds to 2-byte floats, in the same cast on both paths
        Map<String, float[]> stored = PipelineTestSupport.vectors(db, b);
        for (KV<RowKey, float[]> row : rows) {
          assertArrayEquals(type + " " + row.getKey().id(), row.getValue(), stored.get(row.getKey().id()), 0f);
        }
      }
    }
  }

  @Test
  public void copyClearsTheFailuresOfItsIdsReplacesVectorsAndWritesADuplicatedIdOnce() throws Exception {
    String db = TestDatabase.newDatabase("copysemantics");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    EmbeddingTables tables = tables(null);
    Layout layout = prepare(db, tables, VectorType.REAL_ARRAY);
    execute(db, "INSERT INTO docs_embeddings (artifact_id, embedding, model) VALUES (7, '{0}', 'old')");
    execute(db, "INSERT INTO embedding_failures (target_table, artifact_id, model, error_class, message, attempts)"
        + " VALUES ('docs_embeddings', '7', 'old', 'E', 'm', 1), ('docs_embeddings', '14', 'old', 'E', 'm', 2),"
        + " ('docs_embeddings', '99', 'old', 'E', 'm', 1), ('other_embeddings', '7', 'old', 'E', 'm', 1)");
    List<KV<RowKey, float[]>> rows = new ArrayList<>(vectors(3, 1)); // ids 0, 7, 14
    float[] later = new float[DIM];
    later[5] = 0.25f;
    rows.add(KV.of(new RowKey("7", new byte[] {9}), later)); // id 7 again in the same batch: this one wins
    Database database = new Database(db, null, null);
    // One element per bundle is not guaranteed, so the duplicate is made in one step: a batch of all four.
    p.apply(Create.of(List.of(rows)).withCoder(org.apache.beam.sdk.coders.ListCoder.of(
            KvCoder.of(RowKey.Coder.of(), VectorCoder.of()))))
        .apply(org.apache.beam.sdk.transforms.Flatten.iterables())
        .apply(CopyUpserts.of(database, StagedUpsert.of(tables.names(), layout), FP, 500));
    assertEquals(PipelineResult.State.DONE, p.run().waitUntilFinish());
    Map<String, float[]> stored = PipelineTestSupport.vectors(db, "docs_embeddings");
    assertEquals(3, stored.size());
    assertArrayEquals(later, stored.get("7"), 0f);
    assertArrayEquals(rows.get(0).getValue(), stored.get("0"), 0f);
    assertArrayEquals(rows.get(2).getValue(), stored.get("14"), 0f);
    assertEquals(3, TestDatabase.count(db, "SELECT count(*) FROM docs_embeddings WHERE model = '" + FP + "'"));
    assertEquals("\\x09", PipelineTestSupport.firstValue(db,
        "SELECT content_sha256::text FROM docs_embeddings WHERE artifact_id = 7"));
    // The written ids' failures of this target are cleared; another id's and another target's stay.
    assertEquals("99,other_embeddings:7", PipelineTestSupport.firstValue(db,
        "SELECT string_agg(CASE WHEN target_table = 'docs_embeddings' THEN artifact_id"
            + " ELSE target_table || ':' || artifact_id END, ',' ORDER BY target_table, artifact_id)"
            + " FROM embedding_failures"));
  }
}
