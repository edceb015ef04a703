package io.pgembed.bench;

import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Chunked against truncated, the whole job on the same long documents in one JVM, alternating:
 * {@code runners/bench-chunks.sh [--documents=200] [--chunksPerDocument=4] [--rounds=2]}. Each document joins JDK
 * source chunks (the encoder benchmark's long texts) to about 4 x 256 tokens. Truncated, the model sees each
 * document's first 256 tokens; chunked, all of them: the rate to compare is tokens/s (forward-pass tokens over the
 * run's wall time), which should be about the same, since only the token count differs. Prints both, the ratio,
 * and each run's coverage.
 */
public final class ChunkBenchmark {
  public static void main(String[] args) throws Exception {
    int documents = EncoderBenchmark.intArg(args, "documents", 200);
    int perDocument = EncoderBenchmark.intArg(args, "chunksPerDocument", 4);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
    List<String> pieces = BenchCorpus.codeChunks(documents * perDocument * 2, 11);
    List<String> docs = new ArrayList<>();
    for (int d = 0; d < documents; d++) {
      docs.add(String.join("\n\n", pieces.subList(d * perDocument * 2, (d + 1) * perDocument * 2)));
    }
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      BenchCorpus.loadArtifacts(pg, docs);
      double bestNone = 0;
      double bestTokens = 0;
      for (int r = 1; r <= rounds; r++) {
        for (String mode : new String[] {"none", "tokens"}) {
          try (Connection c = pg.getPostgresDatabase().getConnection();
              Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS artifacts_embeddings, artifacts_chunks, embedding_failures");
          }
          EmbeddingPipelineOptions o = OptionSources.parse(new String[] {"--jdbcUrl=" + url,
              "--sourceTable=artifacts", "--device=cpu", "--chunking=" + mode}, Map.of(),
              EmbeddingPipelineOptions.class);
          RunReport report = EmbeddingPipeline.run(o);
          double rate = report.tokens() / report.wallSeconds();
          System.out.printf("RESULT round %d %-6s: %d documents, %d vectors, %,d tokens in %.1f s: %,.0f tokens/s,"
              + " %,.0f per second of forward passes, coverage %.3f, model busy %.2f%n", r, mode, report.read(),
              report.embedded(), report.tokens(), report.wallSeconds(), rate,
              report.tokens() / (report.metrics().modelBusyMicros() / 1e6), report.tokenCoverage(),
              report.modelBusyFraction());
          if (mode.equals("none")) {
            bestNone = Math.max(bestNone, rate);
          } else {
            bestTokens = Math.max(bestTokens, rate);
          }
        }
      }
      System.out.printf("RESULT best: truncated %,.0f tokens/s, chunked %,.0f tokens/s, ratio %.2f%n", bestNone,
          bestTokens, bestTokens / bestNone);
    }
  }
}
