package io.pgembed.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * The job at scale, each run a whole process of the bundled jar (start-up and model load included), on an embedded
 * PostgreSQL: {@code runners/bench-scale.sh MODE [--jar=...]}.
 *
 * <ul>
 *   <li>{@code ratio}: {@code embed} (JSON Lines in and out) against {@code run} (PostgreSQL to PostgreSQL) on the
 *       same texts, alternating: 2,000 code chunks and 10,000 short package descriptions.
 *   <li>{@code memory}: {@code run} with {@code JAVA_OPTS=-Xmx1g} and {@code --timeout=60000} over 10,000 and
 *       1,000,000 short rows: peak RSS and heap, rows embedded, seconds until the first vector is in the table.
 * </ul>
 */
public final class ScaleBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Both commands run with runners/direct.sh's JVM flags, as users start them (the benchmark runs from the root). */
  private static final String LAUNCHER_FLAGS = "@runners/direct-jvm.args";

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "ratio";
    String jar = null;
    List<String> extra = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      if (args[i].startsWith("--jar=")) {
        jar = args[i].substring("--jar=".length());
      } else {
        extra.add(args[i]);
      }
    }
    if (jar == null) {
      throw new IllegalArgumentException("--jar=PATH of the bundled jar is required (runners/bench-scale.sh gives it)");
    }
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      Path dir = Files.createTempDirectory("bench-scale");
      switch (mode) {
        case "ratio" -> {
          // --corpus=code or --corpus=short runs one of the two.
          String only = extra.stream().filter(a -> a.startsWith("--corpus=")).findFirst().orElse("").replace("--corpus=", "");
          extra.removeIf(a -> a.startsWith("--corpus="));
          if (!only.equals("short")) {
            ratio(pg, url, dir, jar, "code", BenchCorpus.codeChunks(2000, 7), extra);
          }
          if (!only.equals("code")) {
            ratio(pg, url, dir, jar, "short", BenchCorpus.packageDescriptions(10000, 7), extra);
          }
        }
        case "memory" -> {
          List<String> base = BenchCorpus.packageDescriptions(10000, 7);
          for (int rows : new int[] {10_000, 1_000_000}) {
            load(pg, "t" + rows, base, rows);
            Run r = runJob(url, dir, jar, "t" + rows, "-Xmx1g", true, extra);
            System.out.printf("RESULT memory %,d rows: %s%n", rows, r);
          }
        }
        default -> throw new IllegalArgumentException("mode must be ratio or memory, but was " + mode);
      }
    }
  }

  private static void ratio(EmbeddedPostgres pg, String url, Path dir, String jar, String name, List<String> texts,
      List<String> extra) throws Exception {
    Path in = dir.resolve(name + ".jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      lines.add(JSON.writeValueAsString(Map.of("id", i, "text", texts.get(i))));
    }
    Files.write(in, lines);
    double bestEmbed = 0;
    double bestRun = 0;
    for (int round = 1; round <= 2; round++) {
      long t0 = System.nanoTime();
      int rc = process(List.of("java", LAUNCHER_FLAGS, "-Xmx4g", "-Dai.djl.offline=true", "-jar", jar, "embed", "--input=" + in,
          "--output=" + dir.resolve(name + ".out.jsonl"), "--device=cpu"), dir.resolve(name + "-embed.log"));
      double embed = texts.size() / ((System.nanoTime() - t0) / 1e9);
      load(pg, name, texts, texts.size());
      Run run = runJob(url, dir, jar, name, "-Xmx4g", false, extra);
      System.out.printf("round %d %s (%d texts): embed %.1f texts/s (rc %d) | run %.1f rows/s, %s | ratio %.2f%n",
          round, name, texts.size(), embed, rc, run.rowsPerSecond, run, run.rowsPerSecond / embed);
      bestEmbed = Math.max(bestEmbed, embed);
      bestRun = Math.max(bestRun, run.rowsPerSecond);
    }
    System.out.printf("RESULT %s: embed %.1f texts/s, run %.1f rows/s, ratio %.2f (best of 2, whole processes)%n",
        name, bestEmbed, bestRun, bestRun / bestEmbed);
  }

  /** What one run process did. */
  record Run(long embedded, double rowsPerSecond, double firstVectorSeconds, long peakRssMiB, long peakHeapMiB,
      long workerRssMiB, double padding, int waves, String status) {}

  private static Run runJob(String url, Path dir, String jar, String table, String xmx, boolean timeout,
      List<String> extra) throws Exception {
    Path report = dir.resolve(table + "-report.json");
    Files.deleteIfExists(report);
    List<String> cmd = new ArrayList<>(List.of("java", LAUNCHER_FLAGS, xmx, "-Dai.djl.offline=true"));
    String jvmOpts = System.getenv("BENCH_RUN_JAVA_OPTS"); // e.g. a profiler's flags for the run process
    if (jvmOpts != null && !jvmOpts.isBlank()) {
      cmd.addAll(List.of(jvmOpts.trim().split("\\s+")));
    }
    cmd.addAll(List.of("-jar", jar, "run", "--jdbcUrl=" + url, "--sourceTable=" + table, "--device=cpu",
        "--reportFile=" + report));
    if (timeout) {
      cmd.add("--timeout=60000");
    }
    cmd.addAll(extra);
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(table + ".log").toFile())
        .start();
    double first = -1;
    try (Connection c = java.sql.DriverManager.getConnection(url)) {
      while (p.isAlive()) {
        if (first < 0 && countOrZero(c, table + "_embeddings") > 0) {
          first = (System.nanoTime() - t0) / 1e9;
        }
        p.waitFor(200, java.util.concurrent.TimeUnit.MILLISECONDS); // the step between two looks at the table
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    JsonNode r = JSON.readTree(report.toFile());
    long workerRss = 0;
    for (JsonNode w : r.path("worker_jvms")) {
      workerRss = Math.max(workerRss, w.path("peak_rss_bytes").asLong() >> 20);
    }
    return new Run(r.path("rows_embedded").asLong(), r.path("rows_embedded").asLong() / seconds, first,
        r.path("peak_rss_bytes").asLong() >> 20, r.path("peak_heap_bytes").asLong() >> 20, workerRss,
        r.path("padding_efficiency").asDouble(), r.path("waves").asInt(), r.path("status").asText());
  }

  private static long countOrZero(Connection c, String table) {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    } catch (java.sql.SQLException e) {
      return 0; // not created yet
    }
  }

  /** A fresh table {@code name} of {@code rows} rows cycling through {@code texts}, loaded with COPY. */
  static void load(EmbeddedPostgres pg, String name, List<String> texts, int rows) throws Exception {
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + name + "_embeddings; DROP TABLE IF EXISTS embedding_failures;"
          + " DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name + " (id bigint PRIMARY KEY, content text)");
      StringBuilder sb = new StringBuilder();
      var copy = c.unwrap(PGConnection.class).getCopyAPI();
      for (int i = 0; i < rows; i++) {
        String t = texts.get(i % texts.size()).replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n")
            .replace("\r", " ");
        sb.append(i).append('\t').append(t).append('\n');
        if (sb.length() > 8_000_000 || i == rows - 1) {
          copy.copyIn("COPY " + name + " FROM STDIN", new StringReader(sb.toString()));
          sb.setLength(0);
        }
      }
      s.execute("ANALYZE " + name);
    }
  }

  private static int process(List<String> cmd, Path log) throws Exception {
    File out = log.toFile();
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out).start().waitFor();
  }
}
