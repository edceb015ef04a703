package io.pgembed.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import io.pgembed.embed.EmbedBatchFn;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import java.util.Map;
import org.junit.Test;

/**
 * The same job on Flink's embedded cluster ([local], parallelism 2) against a real PostgreSQL gives the rows and
 * vectors the DirectRunner gives for the same table.
 */
public class FlinkLocalTest {

  @Test
  public void flinkLocalWithParallelism2WritesWhatTheDirectRunnerWrites() throws Exception {
    String directDb = TestDatabase.newDatabase("direct");
    String flinkDb = TestDatabase.newDatabase("flinklocal");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(directDb, 120);
    assertEquals(rows, FlinkTestRows.createArtifacts(flinkDb, 120));

    RunReport direct = EmbeddingPipeline.run(OptionSources.parse(new String[] {
        "--jdbcUrl=" + directDb, "--device=cpu", "--sourceTable=artifacts", "--workers=2"}, Map.of(),
        EmbeddingPipelineOptions.class));
    RunReport flink = EmbeddingPipeline.run(OptionSources.parse(new String[] {
        "--jdbcUrl=" + flinkDb, "--device=cpu", "--sourceTable=artifacts", "--runner=FlinkRunner",
        "--flinkMaster=[local]", "--parallelism=2", "--workers=2"}, Map.of(), EmbeddingPipelineOptions.class));

    assertEquals("complete", direct.status());
    assertEquals("complete", flink.status());
    assertEquals(120, flink.embedded());
    // [local] runs the TaskManager inside this JVM: this process did the embedding.
    assertEquals(java.util.Set.of(EmbedBatchFn.jvmName()), flink.workers().keySet());
    assertEquals(120, flink.workers().get(EmbedBatchFn.jvmName()).rowsEmbedded());
    FlinkTestRows.assertEveryRowEmbedded(rows, flinkDb);

    Map<Long, float[]> d = FlinkTestRows.vectors(directDb);
    Map<Long, float[]> f = FlinkTestRows.vectors(flinkDb);
    assertEquals(d.keySet(), f.keySet());
    for (long id : d.keySet()) {
      assertEquals(384, f.get(id).length);
      double worst = 0;
      for (int i = 0; i < 384; i++) {
        worst = Math.max(worst, Math.abs(d.get(id)[i] - f.get(id)[i]));
      }
      // Not bit-equal: rows meet other rows in other padded batches, which moves the last float bits.
      assertThat("id " + id + ": largest difference between the runners' vectors", worst, lessThanOrEqualTo(1e-5));
    }
  }
}
