package io.pgembed.write;

import io.pgembed.db.Layout;
import static io.pgembed.PipelineTestSupport.execute;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.RowKey;
import io.pgembed.db.TableNames;
import io.pgembed.db.TestDatabase;
import io.pgembed.embed.EmbeddingFailure;
import io.pgembed.embed.VectorCoder;
import io.pgembed.PipelineTestSupport;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;

/**
 * The same rows written twice, as a retried bundle or a replay after a restart delivers them: the vectors are the
 * same rows with the same values, and a failure counts one attempt per read, not per write.
 */
public class ReplayedWritesTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TestPipeline next = TestPipeline.create();

  private static final String FP = "test-model sha256:0000";
  private static final long READ_1 = 1_790_000_000_000_001L;
  private static final long READ_2 = 1_790_000_000_500_002L;

  private static EmbeddingTables prepare(String db) throws Exception {
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    EmbeddingTables tables = new EmbeddingTables(
        TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures"), 3, 100);
    try (Connection c = PipelineTestSupport.connect(db)) {
      EmbeddingSchema.prepare(c, tables, 4);
    }
    return tables;
  }

  private static List<KV<RowKey, EmbeddingFailure>> failures(long readAt) {
    List<KV<RowKey, EmbeddingFailure>> out = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      out.add(KV.of(new RowKey(Integer.toString(i), new byte[] {(byte) i}, readAt),
          new EmbeddingFailure("ai.djl.engine.EngineException", "out of memory " + i, true)));
    }
    return out;
  }

  private static void writeFailuresTwice(TestPipeline pipeline, String db, EmbeddingTables tables, long readAt) {
    PCollection<KV<RowKey, EmbeddingFailure>> rows = pipeline.apply(Create.of(failures(readAt))
        .withCoder(KvCoder.of(RowKey.Coder.of(), EmbeddingFailure.Coder.of())));
    Database database = new Database(db, null, null);
    // Two writes of the same elements: what a retried write bundle does to the table.
    rows.apply("Write", VectorWriter.failures(database, tables.failureStatement(), FP, 3, 2));
    rows.apply("Write again", VectorWriter.failures(database, tables.failureStatement(), FP, 3, 3));
    pipeline.run().waitUntilFinish();
  }

  private static Map<String, Integer> attempts(String db) throws Exception {
    Map<String, Integer> out = new java.util.TreeMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id, attempts FROM embedding_failures WHERE model = '" + FP + "'")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getInt(2));
      }
    }
    return out;
  }

  @Test
  public void aFailureWrittenTwiceFromOneReadCountsOneAttemptAndANewReadCountsTheNext() throws Exception {
    String db = TestDatabase.newDatabase("replay");
    EmbeddingTables tables = prepare(db);
    writeFailuresTwice(p, db, tables, READ_1);
    assertEquals(Map.of("0", 1, "1", 1, "2", 1, "3", 1, "4", 1), attempts(db));
    // The next run reads the rows again (another read time): one more attempt, however often it is written.
    writeFailuresTwice(next, db, tables, READ_2);
    assertEquals(Map.of("0", 2, "1", 2, "2", 2, "3", 2, "4", 2), attempts(db));
  }

  @Test
  public void vectorsWrittenTwiceAreOneRowEachWithTheSameValues() throws Exception {
    String db = TestDatabase.newDatabase("replayvec");
    EmbeddingTables tables = prepare(db);
    Layout layout = new Layout(io.pgembed.db.IdType.BIGINT, io.pgembed.db.VectorType.REAL_ARRAY, 4);
    List<KV<RowKey, float[]>> vectors = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      vectors.add(KV.of(new RowKey(Integer.toString(i), new byte[] {(byte) i}, READ_1),
          new float[] {i, i + 0.5f, -i, 1f / (i + 1)}));
    }
    PCollection<KV<RowKey, float[]>> rows =
        p.apply(Create.of(vectors).withCoder(KvCoder.of(RowKey.Coder.of(), VectorCoder.of())));
    Database database = new Database(db, null, null);
    rows.apply("Write", VectorWriter.vectors(database, tables.upsertStatement(layout), FP, 3));
    rows.apply("Write again", VectorWriter.vectors(database, tables.upsertStatement(layout), FP, 4));
    // A plain INSERT would fail the second write on the primary key: the run ending DONE is what shows the upsert.
    assertEquals(org.apache.beam.sdk.PipelineResult.State.DONE, p.run().waitUntilFinish());
    Map<String, float[]> stored = PipelineTestSupport.vectors(db, "docs_embeddings");
    assertEquals(7, stored.size());
    for (KV<RowKey, float[]> v : vectors) {
      assertArrayEquals(v.getKey().id(), v.getValue(), stored.get(v.getKey().id()), 0f);
    }
  }
}
