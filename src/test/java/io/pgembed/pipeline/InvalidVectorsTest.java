package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TokenHashModel;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.Test;

/**
 * A vector with a NaN or infinite component, or all zeros, is never written: the row is a failure with the reason,
 * counted in rows_failed and vectors_rejected (report and JSON), and its neighbours in the same forward pass are
 * written as usual.
 */
public class InvalidVectorsTest {
  @Test
  public void nanInfiniteAndZeroVectorsAreRecordedFailuresNotWrittenVectors() throws Exception {
    TokenHashModel model = TokenHashModel.small();
    ModelSpec broken = InjectedFaults.of(InjectedFaults.of(InjectedFaults.of(model)
        .corruptTextMatching("^NAN", Float.NaN)).corruptTextMatching("^INF", Float.NEGATIVE_INFINITY))
        .corruptTextMatching("^ZERO", 0f);
    String db = TestDatabase.newDatabase("invalid");
    Map<Long, String> docs = PipelineTestSupport.createDocs(db, 20, i -> switch ((int) i) {
      case 3, 11 -> "NAN document " + i;
      case 7 -> "INF document " + i;
      case 15 -> "ZERO document " + i;
      default -> "document " + i + " about quality checks";
    });
    RunReport report = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--batchSize=8"), broken);
    assertEquals(RunStatus.COMPLETE, report.status());
    assertEquals(16, report.embedded());
    assertEquals(4, report.failed());
    assertEquals(4, report.rejectedVectors());
    assertEquals(4L, report.toMap().get("vectors_rejected"));
    assertThat(report.format(), containsString("rejected         4 vectors with NaN, infinite or all-zero"));

    Map<String, float[]> stored = vectors(db, "docs_embeddings");
    assertEquals(16, stored.size());
    try (EmbeddingModel m = model.load(); EmbeddingPredictor p = m.newPredictor()) {
      for (long id : List.of(1L, 2L, 20L)) {
        assertArrayEquals(p.embedTexts(List.of(docs.get(id)))[0], stored.get(Long.toString(id)), 0f);
      }
    }
    Map<String, String> failures = new TreeMap<>();
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id, error_class || ': ' || message || ' @' || attempts FROM embedding_failures")) {
      while (rs.next()) {
        failures.put(rs.getString(1), rs.getString(2));
      }
    }
    assertEquals(List.of("11", "15", "3", "7"), List.copyOf(failures.keySet()));
    assertThat(failures.get("3"), containsString("invalid_vector: the model gave a vector with 8 NaN and 0 infinite"
        + " components of 8 (the first at index 0): not written @1"));
    assertThat(failures.get("7"), containsString("0 NaN and 8 infinite components"));
    assertThat(failures.get("15"), containsString("invalid_vector: the model gave an all-zero vector of 8"
        + " components"));
  }
}
