package io.pgembed.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The same job on Flink's embedded cluster ([local], parallelism 2) against a real PostgreSQL. */
public class FlinkLocalTest {

  @Test
  public void theJobRunsUnchangedOnFlinkLocalWithParallelism2() throws Exception {
    String db = TestDatabase.newDatabase("flinklocal");
    Map<Long, String> rows = new LinkedHashMap<>();
    try (Connection c = DriverManager.getConnection(db)) {
      c.createStatement().execute("CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts VALUES (?, ?)")) {
        for (int i = 0; i < 120; i++) {
          String text = TestModels.parityCorpus().get(i).text();
          rows.put((long) i, text);
          ps.setLong(1, i);
          ps.setString(2, text);
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    EmbeddingPipelineOptions o = OptionSources.parse(new String[] {
        "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=artifacts", "--runner=FlinkRunner", "--flinkMaster=[local]",
        "--parallelism=2", "--workers=2"}, Map.of(), EmbeddingPipelineOptions.class);
    RunReport r = EmbeddingPipeline.run(o);
    assertEquals("complete", r.status());
    assertEquals(120, r.embedded());
    try (Connection c = DriverManager.getConnection(db);
        ResultSet rs = c.createStatement().executeQuery("SELECT artifact_id, embedding FROM artifacts_embeddings ORDER BY artifact_id");
        EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      int n = 0;
      while (rs.next()) {
        Float[] boxed = (Float[]) rs.getArray(2).getArray();
        float[] v = new float[boxed.length];
        for (int i = 0; i < v.length; i++) {
          v[i] = boxed[i];
        }
        float[] expected = p.embedTexts(List.of(rows.get(rs.getLong(1))))[0];
        assertThat("id " + rs.getLong(1), TestModels.cosine(expected, v), greaterThanOrEqualTo(0.99999));
        n++;
      }
      assertEquals(120, n);
    }
  }
}
