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
 *       same texts, in 3 alternating rounds ({@code -Drounds=N}), on Debian's PostgreSQL with pgvector: 2,000 code
 *       chunks, 10,000 short package descriptions, and every distinct Debian package description into a
 *       {@code vector(384)} target ({@code --corpus=code|short|debian} for one).
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
    Path dir = Files.createTempDirectory("bench-scale");
    if (mode.equals("ratio")) {
      // On Debian's PostgreSQL with pgvector (runners/install-pgvector.sh), on these cores. --corpus=code, short or
      // debian runs one of the three.
      String only = extra.stream().filter(a -> a.startsWith("--corpus=")).findFirst().orElse("")
          .replace("--corpus=", "");
      extra.removeIf(a -> a.startsWith("--corpus="));
      String url = io.pgembed.db.PgVectorServer.newDatabase("scale");
      if (only.isEmpty() || only.equals("code")) {
        ratio(url, dir, jar, "code", BenchCorpus.codeChunks(2000, 7), extra);
      }
      if (only.isEmpty() || only.equals("short")) {
        ratio(url, dir, jar, "short", BenchCorpus.packageDescriptions(10000, 7), extra);
      }
      if (only.isEmpty() || only.equals("debian")) {
        List<String> all = BenchCorpus.uniquePackageDescriptions();
        List<String> withVector = new ArrayList<>(extra);
        withVector.add("--vectorType=vector");
        ratio(url, dir, jar, "debian", all, withVector);
      }
      return;
    }
    if (mode.equals("ab")) {
      String other = extra.stream().filter(a -> a.startsWith("--jarB=")).findFirst().map(a -> a.substring(7))
          .orElseThrow(() -> new IllegalArgumentException("ab needs --jarB=PATH: the jar to compare this one with"));
      extra.removeIf(a -> a.startsWith("--jarB="));
      String url = io.pgembed.db.PgVectorServer.newDatabase("scale");
      ab(url, dir, jar, other, BenchCorpus.packageDescriptions(10000, 7), extra);
      return;
    }
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      switch (mode) {
        case "memory" -> {
          List<String> base = BenchCorpus.packageDescriptions(10000, 7);
          for (int rows : new int[] {10_000, 1_000_000}) {
            load(url, "t" + rows, base, rows);
            Run r = runJob(url, dir, jar, "t" + rows, "-Xmx1g", true, extra);
            System.out.printf("RESULT memory %,d rows: %s%n", rows, r);
          }
        }
        default -> throw new IllegalArgumentException("mode must be ratio or memory, but was " + mode);
      }
    }
  }

  /**
   * {@code rounds} alternating rounds (odd rounds embed first, even rounds run first) of {@code embed} (file to file)
   * and {@code run} (PostgreSQL to PostgreSQL) on the same texts, each a whole process with default options: the
   * medians of their seconds, of the per-round ratios, and the server's CPU seconds during each run (its processes'
   * user and system time, the postmaster's reaped backends included), with the ratio the run would have if the
   * server's CPU were on other cores (its CPU-seconds taken off the run's wall time, divided by the cores).
   */
  private static void ratio(String url, Path dir, String jar, String name, List<String> texts, List<String> extra)
      throws Exception {
    int rounds = Integer.getInteger("rounds", 3);
    Path in = dir.resolve(name + ".jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      lines.add(JSON.writeValueAsString(Map.of("id", i, "text", texts.get(i))));
    }
    Files.write(in, lines);
    List<Double> embedSeconds = new ArrayList<>();
    List<Double> runSeconds = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    List<Double> serverCpu = new ArrayList<>();
    List<Double> ratiosWithout = new ArrayList<>();
    int cores = Runtime.getRuntime().availableProcessors();
    for (int round = 1; round <= rounds; round++) {
      double embed = 0;
      Run run = null;
      for (int step = 0; step < 2; step++) {
        if ((step == 0) == (round % 2 == 1)) {
          long t0 = System.nanoTime();
          List<String> cmd = launcher(jar, "-Xmx4g");
          cmd.addAll(List.of("-Dai.djl.offline=true", "-jar", jar, "embed", "--input=" + in,
              "--output=" + dir.resolve(name + ".out.jsonl"), "--device=cpu"));
          int rc = process(cmd, dir.resolve(name + "-embed.log"));
          embed = (System.nanoTime() - t0) / 1e9;
          if (rc != 0) {
            throw new IllegalStateException("embed exited " + rc + ": see " + dir.resolve(name + "-embed.log"));
          }
        } else {
          load(url, name, texts, texts.size());
          run = runJob(url, dir, jar, name, "-Xmx4g", false, extra);
        }
      }
      double ratio = embed / run.seconds;
      double without = embed / (run.seconds - run.serverCpuSeconds / cores);
      System.out.printf("round %d %s (%d texts, %s first): embed %.1f s | run %.1f s, server CPU %.1f s, %s |"
          + " ratio %.2f (%.2f without the server's CPU)%n", round, name, texts.size(),
          round % 2 == 1 ? "embed" : "run", embed, run.seconds, run.serverCpuSeconds, run, ratio, without);
      embedSeconds.add(embed);
      runSeconds.add(run.seconds);
      ratios.add(ratio);
      serverCpu.add(run.serverCpuSeconds);
      ratiosWithout.add(without);
    }
    System.out.printf("RESULT %s (%d texts): embed %.1f s, run %.1f s (medians of %d alternating rounds); ratio"
        + " median %.2f (rounds %s), server CPU during run %.1f s, ratio without it %.2f%n", name, texts.size(),
        median(embedSeconds), median(runSeconds), rounds, median(ratios), format(ratios), median(serverCpu),
        median(ratiosWithout));
  }

  /**
   * {@code rounds} alternating rounds of {@code run} with jar A (this checkout's) and jar B (another build: the code
   * before a change) on the same 10,000 short texts, each a whole process with default options: the medians of their
   * seconds and of the per-round ratios B/A (above 1: A is the faster).
   */
  private static void ab(String url, Path dir, String jarA, String jarB, List<String> texts, List<String> extra)
      throws Exception {
    int rounds = Integer.getInteger("rounds", 5);
    List<Double> a = new ArrayList<>();
    List<Double> b = new ArrayList<>();
    List<Double> ratios = new ArrayList<>();
    List<Double> outsideA = new ArrayList<>();
    List<Double> outsideB = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      Run[] runs = new Run[2];
      for (int step = 0; step < 2; step++) {
        int which = (step == 0) == (round % 2 == 1) ? 0 : 1;
        String table = which == 0 ? "short_a" : "short_b"; // each jar's last log stays: short_a.log, short_b.log
        load(url, table, texts, texts.size());
        runs[which] = runJob(url, dir, which == 0 ? jarA : jarB, table, "-Xmx4g", false, extra);
      }
      a.add(runs[0].seconds);
      b.add(runs[1].seconds);
      ratios.add(runs[1].seconds / runs[0].seconds);
      // The process's seconds outside the model's forward passes: what a change to the pipeline moves, without the
      // model's own noise.
      outsideA.add(runs[0].seconds - runs[0].modelBusySeconds);
      outsideB.add(runs[1].seconds - runs[1].modelBusySeconds);
      System.out.printf("round %d (%s first): A %.2f s (%.2f outside the model, first vector %.2f s, peak RSS %d MiB)"
          + " | B %.2f s (%.2f, %.2f s, %d MiB) | B/A %.3f%n", round, round % 2 == 1 ? "A" : "B", runs[0].seconds,
          outsideA.get(round - 1), runs[0].firstVectorSeconds, runs[0].peakRssMiB, runs[1].seconds,
          outsideB.get(round - 1), runs[1].firstVectorSeconds, runs[1].peakRssMiB, runs[1].seconds / runs[0].seconds);
    }
    System.out.printf("RESULT ab short (%d texts): A %.2f s, B %.2f s (medians of %d alternating rounds); B/A median"
        + " %.3f (rounds %s); outside the model A %.2f s, B %.2f s%n", texts.size(), median(a), median(b), rounds,
        median(ratios), format(ratios), median(outsideA), median(outsideB));
  }

  private static double median(List<Double> xs) {
    List<Double> sorted = new ArrayList<>(xs);
    java.util.Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static String format(List<Double> xs) {
    return xs.stream().map(x -> String.format("%.2f", x)).collect(java.util.stream.Collectors.joining(", "));
  }

  /**
   * CPU seconds of this machine's PostgreSQL server processes so far: every process named postgres, its user and
   * system time plus those of its reaped children (the postmaster's exited backends).
   */
  static double serverCpuSeconds() throws java.io.IOException {
    long ticks = 0;
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path pdir : (Iterable<Path>) procs::iterator) {
        if (!pdir.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(pdir.resolve("stat"));
          String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          if (!comm.equals("postgres")) {
            continue;
          }
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          // Fields after the command: state is [0], so utime, stime, cutime, cstime are [11] to [14].
          for (int i = 11; i <= 14; i++) {
            ticks += Long.parseLong(f[i]);
          }
        } catch (java.io.IOException | RuntimeException gone) {
          // the process ended while it was read
        }
      }
    }
    return ticks / 100.0; // USER_HZ
  }

  /** What one run process did. */
  record Run(long embedded, double rowsPerSecond, double firstVectorSeconds, long peakRssMiB, long peakHeapMiB,
      long workerRssMiB, double padding, int waves, String status, double seconds, double serverCpuSeconds,
      double modelBusySeconds) {}

  private static Run runJob(String url, Path dir, String jar, String table, String xmx, boolean timeout,
      List<String> extra) throws Exception {
    Path report = dir.resolve(table + "-report.json");
    Files.deleteIfExists(report);
    List<String> cmd = launcher(jar, xmx);
    cmd.add("-Dai.djl.offline=true");
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
    double cpu0 = serverCpuSeconds();
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
    double serverCpu = serverCpuSeconds() - cpu0;
    JsonNode r = JSON.readTree(report.toFile());
    long workerRss = 0;
    for (JsonNode w : r.path("worker_jvms")) {
      workerRss = Math.max(workerRss, w.path("peak_rss_bytes").asLong() >> 20);
    }
    return new Run(r.path("rows_embedded").asLong(), r.path("rows_embedded").asLong() / seconds, first,
        r.path("peak_rss_bytes").asLong() >> 20, r.path("peak_heap_bytes").asLong() >> 20, workerRss,
        r.path("padding_efficiency").asDouble(), r.path("waves").asInt(), r.path("status").asText(), seconds,
        serverCpu, r.path("model_busy_seconds").asDouble());
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
  static void load(String url, String name, List<String> texts, int rows) throws Exception {
    try (Connection c = java.sql.DriverManager.getConnection(url);
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

  /**
   * java with runners/direct.sh's flags for {@code jar}: direct-jvm.args, then the jar's class-data archive as
   * runners/cds-archive.sh gives it (bench-scale.sh passes its lines in BENCH_CDS_FLAGS: one jar's, so another jar
   * in {@code ab} mode starts without), then {@code xmx}.
   */
  private static List<String> launcher(String jar, String xmx) {
    List<String> cmd = new ArrayList<>(List.of("java", LAUNCHER_FLAGS));
    String cds = System.getenv("BENCH_CDS_FLAGS");
    if (cds != null && !cds.isBlank() && jar.equals(System.getenv("BENCH_CDS_JAR"))) {
      cds.lines().filter(l -> !l.isBlank()).forEach(cmd::add);
    }
    cmd.add(xmx);
    return cmd;
  }

  private static int process(List<String> cmd, Path log) throws Exception {
    File out = log.toFile();
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out).start().waitFor();
  }
}
