package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.RowKey;
import io.pgembed.db.TestDatabase;
import io.pgembed.embed.EmbedTexts;
import io.pgembed.embed.EmbeddingFailure;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;

/**
 * The job's composite transform against a real PostgreSQL, with a test model: its output says which rows were
 * embedded (with which vector) and which failed (with which reason), and the tables hold exactly that.
 */
public class EmbedPendingRowsTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  @Test
  public void theOutputAndTheTablesAgreeRowByRow() throws Exception {
    String db = TestDatabase.newDatabase("composite");
    execute(db, "CREATE TABLE notes (id bigint PRIMARY KEY, content text)");
    Map<Long, String> rows = new LinkedHashMap<>();
    for (long i = 1; i <= 12; i++) {
      rows.put(i, "note number " + i + " about " + "vectors ".repeat((int) i));
    }
    rows.put(13L, "POISON in this note");
    PipelineTestSupport.insert(db, "notes", rows);
    execute(db, "INSERT INTO notes VALUES (14, NULL), (15, '   ')");

    TokenHashModel model = TokenHashModel.small();
    ModelSpec spec = InjectedFaults.of(model).failOnTextMatching("^POISON");
    EmbeddingPipelineOptions o = options(db, "--sourceTable=notes", "--batchSize=4", "--readPartitions=3");
    EmbedTexts.Result<RowKey> result;
    try (Preflight.Checked checked = Preflight.check(o, spec)) {
      assertEquals(15, checked.pending());
      result = pipeline.apply("Embed pending rows",
          EmbedPendingRows.from(checked.database(), checked.tables(), checked.layout(), checked.fingerprint())
              .withEmbedding(EmbedTexts.<RowKey>using(spec).withBatchSize(4).withShards(2))
              .withPartitions(3, checked.minId(), checked.maxId())
              .withWriteBatchSize(5));
      PAssert.that(result.embedded().apply("Ids", MapElements.into(TypeDescriptors.strings())
              .via(kv -> kv.getKey().id())))
          .containsInAnyOrder("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
      PAssert.that(result.failed().apply("Reasons", MapElements
              .into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
              .via(kv -> KV.of(kv.getKey().id(), kv.getValue().errorClass()))))
          .containsInAnyOrder(
              KV.of("13", InjectedFaults.InjectedFailure.class.getName()),
              KV.of("14", EmbeddingFailure.SKIPPED_NULL),
              KV.of("15", EmbeddingFailure.SKIPPED_BLANK));
      PAssert.that(result.deferred()).empty();
      pipeline.run().waitUntilFinish();
    }

    Map<String, float[]> stored = vectors(db, "notes_embeddings");
    assertEquals(12, stored.size());
    for (long i = 1; i <= 12; i++) {
      assertArrayEquals("row " + i, model.vectorOf(rows.get(i)), stored.get(Long.toString(i)), 0f);
    }
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id, error_class, attempts FROM embedding_failures ORDER BY artifact_id")) {
      StringBuilder failures = new StringBuilder();
      while (rs.next()) {
        failures.append(rs.getString(1)).append(' ').append(rs.getString(2)).append(' ').append(rs.getInt(3))
            .append('\n');
      }
      assertEquals(
          "13 " + InjectedFaults.InjectedFailure.class.getName() + " 1\n"
              + "14 " + EmbeddingFailure.SKIPPED_NULL + " 3\n"
              + "15 " + EmbeddingFailure.SKIPPED_BLANK + " 3\n",
          failures.toString());
    }
    try (Preflight.Checked again = Preflight.check(o, spec)) {
      assertEquals("nothing left pending but the poison row, which has attempts left", 1, again.pending());
    }
  }
}
