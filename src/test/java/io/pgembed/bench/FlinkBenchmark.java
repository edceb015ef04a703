package io.pgembed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The same job on the same texts, side by side in one run: the DirectRunner in this JVM, and the bundled jar
 * submitted by {@code runners/flink.sh} to the running Flink cluster at FLINK_MASTER (one TaskManager, two slots,
 * --parallelism=2). Both use the product defaults (--workers=1: one forward pass at a time per JVM, libtorch on
 * every core). {@code runners/bench-flink.sh [--texts=2000] [--rounds=2]} starts and stops the cluster around it.
 */
public final class FlinkBenchmark {
  public static void main(String[] args) throws Exception {
    int n = EncoderBenchmark.intArg(args, "texts", 2000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
    List<String> texts = BenchCorpus.mixed(n, 7);
    ObjectMapper json = new ObjectMapper();
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      BenchCorpus.loadArtifacts(pg, texts);
      double bestDirect = 0;
      double bestFlinkJob = 0;
      double bestFlinkClient = 0;
      for (int r = 0; r < rounds; r++) {
        reset(pg);
        EmbeddingPipelineOptions o = OptionSources.parse(
            new String[] {"--jdbcUrl=" + url, "--sourceTable=artifacts", "--device=cpu"}, Map.of(),
            EmbeddingPipelineOptions.class);
        RunReport direct = EmbeddingPipeline.run(o);
        double d = direct.embedded() / direct.wallSeconds();

        reset(pg);
        Path report = Files.createTempFile("flink-bench", ".json");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(List.of("runners/flink.sh", "run", "--jdbcUrl=" + url, "--sourceTable=artifacts",
            "--device=cpu", "--parallelism=2", "--reportFile=" + report))
            .redirectErrorStream(true).redirectOutput(Path.of("target/flink-bench-client.log").toFile()).start();
        if (p.waitFor() != 0) {
          throw new IllegalStateException("flink.sh failed: see target/flink-bench-client.log");
        }
        double client = (System.nanoTime() - t0) / 1e9;
        JsonNode rep = json.readTree(report.toFile());
        long embedded = rep.get("rows_embedded").asLong();
        double job = embedded / rep.get("wall_seconds").asDouble();
        System.out.printf("round %d: DirectRunner %.1f rows/s (%d rows, %.1f s) | Flink cluster %.1f rows/s submit-to-end"
                + " (%.1f s), %.1f rows/s whole client (%.1f s, JVM start and model check included) | %s%n",
            r + 1, d, direct.embedded(), direct.wallSeconds(), job, rep.get("wall_seconds").asDouble(),
            embedded / client, client, rep.get("worker_jvms"));
        bestDirect = Math.max(bestDirect, d);
        bestFlinkJob = Math.max(bestFlinkJob, job);
        bestFlinkClient = Math.max(bestFlinkClient, embedded / client);
      }
      System.out.printf("RESULT %d texts: DirectRunner %.1f rows/s, Flink cluster %.1f rows/s (ratio %.2f), %.1f rows/s"
          + " counting the client's start%n", n, bestDirect, bestFlinkJob, bestFlinkJob / bestDirect, bestFlinkClient);
    }
  }

  private static void reset(EmbeddedPostgres pg) throws Exception {
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS artifacts_embeddings; DROP TABLE IF EXISTS embedding_failures");
    }
  }
}
