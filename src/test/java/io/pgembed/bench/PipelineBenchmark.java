package io.pgembed.bench;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.Preflight;
import io.pgembed.pipeline.RunController;
import io.pgembed.pipeline.RunReport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;

/**
 * End-to-end PostgreSQL -> PostgreSQL throughput of the pipeline on the DirectRunner against the raw encoder on the
 * same texts, in one run: {@code runners/bench-pipeline.sh [--texts=2000] [--rounds=2] [pipeline options...]}.
 * The raw figure is the encoder alone (tokenize + length-sorted batches, the same batch settings), the pipeline's
 * is the report's wall time (read, batch, embed, write), both excluding the model load.
 */
public final class PipelineBenchmark {
  public static void main(String[] args) throws Exception {
    int n = EncoderBenchmark.intArg(args, "texts", 2000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
    List<String> passThrough = new ArrayList<>();
    for (String a : args) {
      if (!a.startsWith("--texts=") && !a.startsWith("--rounds=")) {
        passThrough.add(a);
      }
    }
    List<String> texts = BenchCorpus.mixed(n, 7);
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      BenchCorpus.loadArtifacts(pg, texts);
      double bestRaw = 0;
      double bestPipeline = 0;
      for (int r = 0; r < rounds; r++) {
        List<String> a = new ArrayList<>(List.of("--jdbcUrl=" + url, "--sourceTable=artifacts", "--device=cpu"));
        a.addAll(passThrough);
        EmbeddingPipelineOptions o =
            OptionSources.parse(a.toArray(new String[0]), Map.of(), EmbeddingPipelineOptions.class);
        try (Connection c = pg.getPostgresDatabase().getConnection();
            Statement s = c.createStatement()) {
          s.execute("DROP TABLE IF EXISTS artifacts_embeddings; DROP TABLE IF EXISTS embedding_failures");
        }
        try (Preflight.Checked checked = Preflight.check(o, EmbeddingPipeline.modelSpec(o))) {
          EmbeddingModel model = checked.model();
          long t0 = System.nanoTime();
          try (EmbeddingPredictor p = model.newPredictor()) {
            LengthSortedBatches.embed(p, model.tokenizer().tokenize(texts), o.getBatchSize(), o.getMaxBatchTokens());
          }
          double raw = texts.size() / ((System.nanoTime() - t0) / 1e9);
          Pipeline pipeline = Pipeline.create(o);
          pipeline.apply("Embed pending rows", EmbeddingPipeline.embedPendingRows(checked, o));
          RunReport report = RunController.execute(pipeline, checked, o, () -> false);
          double e2e = report.embedded() / report.wallSeconds();
          System.out.printf(
              "round %d: raw encoder %.1f texts/s | pipeline %.1f rows/s (%d rows, %.1f s) | ratio %.2f%n",
              r + 1, raw, e2e, report.embedded(), report.wallSeconds(), e2e / raw);
          bestRaw = Math.max(bestRaw, raw);
          bestPipeline = Math.max(bestPipeline, e2e);
        }
      }
      System.out.printf(
          "RESULT raw encoder %.1f texts/s, pipeline PostgreSQL->PostgreSQL %.1f rows/s, ratio %.2f (%d texts, %s)%n",
          bestRaw, bestPipeline, bestPipeline / bestRaw, texts.size(), passThrough);
    }
  }
}
