package io.pgembed.bench;

import io.pgembed.PipelineTestSupport;
import io.pgembed.capture.ChangeLog;
import io.pgembed.db.Database;
import io.pgembed.db.IdType;
import io.pgembed.db.Layout;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TableNames;
import io.pgembed.db.VectorType;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Continuous mode's freshness and cost, scan against trigger, on one Debian PostgreSQL (its processes' CPU read from
 * /proc): {@code runners/bench-capture.sh [--rows=1000000] [--smallRows=10000] [--inserts=20] [--idleSeconds=20]
 * [--writeRows=100000] [--scan=1] [--writesOnly=0]} ({@code --scan=0} leaves scan mode out; {@code --writesOnly=1}
 * measures only the writes). For a table of {@code rows} short texts, all embedded (stand-in one-component vectors of the
 * model's fingerprint: the pending query reads only the model and hash), it prints PostgreSQL's CPU while a
 * continuous run (--pollInterval=1s, --maxBufferingMs=50) is idle, and the commit-to-vector latency (p50, p95, max)
 * of single-row inserts committed one by one, in each mode; the trigger mode's latency again at {@code smallRows};
 * and the triggers' cost to the user's own writes: a {@code writeRows}-row insert and update of the text column,
 * and single-row writes committed one by one, with and without them (median of five alternating rounds).
 */
public final class ChangeCaptureBenchmark {
  private static final ModelSpec MODEL = ModelLoader.builder().device("cpu").build();
  /** The ids of inserted rows: negative, so they never meet the table's own. */
  private static long nextId = -1;

  public static void main(String[] args) throws Exception {
    int rows = EncoderBenchmark.intArg(args, "rows", 1_000_000);
    int smallRows = EncoderBenchmark.intArg(args, "smallRows", 10_000);
    int inserts = EncoderBenchmark.intArg(args, "inserts", 20);
    int idle = EncoderBenchmark.intArg(args, "idleSeconds", 20);
    int writeRows = EncoderBenchmark.intArg(args, "writeRows", 100_000);
    if (EncoderBenchmark.intArg(args, "writesOnly", 0) > 0) {
      writeCost(writeRows);
      return;
    }
    String fingerprint;
    try (var m = MODEL.load()) {
      fingerprint = m.fingerprint().toString();
    }
    String big = table(rows, fingerprint);
    if (EncoderBenchmark.intArg(args, "scan", 1) > 0) {
      measure(big, rows, "scan", Math.min(inserts, 5), idle, fingerprint);
    }
    measure(big, rows, "trigger", inserts, idle, fingerprint);
    String small = table(smallRows, fingerprint);
    measure(small, smallRows, "trigger", inserts, idle, fingerprint);
    writeCost(writeRows);
  }

  /** A database with docs of {@code rows} short texts, all embedded with stand-in vectors; returns its URL. */
  private static String table(int rows, String fingerprint) throws Exception {
    String url = PgVectorServer.newDatabase("capture" + rows);
    long t0 = System.nanoTime();
    PipelineTestSupport.execute(url, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'package ' || i || ' does a small useful thing' FROM generate_series(1, "
        + rows + ") i;"
        + " CREATE TABLE docs_embeddings (artifact_id bigint PRIMARY KEY, embedding real[] NOT NULL, model text NOT"
        + " NULL, content_sha256 bytea, embedded_at timestamptz NOT NULL DEFAULT now());"
        + " INSERT INTO docs_embeddings SELECT id, '{0.5}', '" + fingerprint.replace("'", "''") + "',"
        + " sha256(convert_to(content, 'UTF8')), now() FROM docs");
    PipelineTestSupport.execute(url, "VACUUM ANALYZE docs");
    PipelineTestSupport.execute(url, "VACUUM ANALYZE docs_embeddings");
    PipelineTestSupport.execute(url, "CHECKPOINT"); // the load's dirty pages written now, not while idle is measured
    var cpu0 = serverCpu();
    long t1 = System.nanoTime();
    TimeUnit.SECONDS.sleep(10); // the server alone, as a baseline
    System.out.printf("the server alone: %.3f cores%n", cores(cpu0, (System.nanoTime() - t1) / 1e9));
    System.out.printf("%,d rows embedded (stand-in vectors) in %.0f s%n", rows, (System.nanoTime() - t0) / 1e9);
    return url;
  }

  private static void measure(String url, int rows, String mode, int inserts, int idleSeconds, String fingerprint)
      throws Exception {
    EmbeddingPipelineOptions o = PipelineTestSupport.options(url, "--sourceTable=docs", "--continuous",
        "--changeCapture=" + mode, "--pollInterval=1s", "--maxBufferingMs=50", "--pruneDeleted=false");
    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
      try {
        EmbeddingPipeline.run(o, MODEL, stop::get);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try {
      // Warm: in trigger mode the first drain (the one scan) over; then one insert embedded by the running pipeline.
      if (mode.equals("trigger")) {
        long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < end && TestDatabaseValue.scanned(url) == 0) {
          TimeUnit.MILLISECONDS.sleep(100); // the check's interval
        }
      }
      insertAndWait(url, nextId--, 180);
      var cpu0 = serverCpu();
      long t0 = System.nanoTime();
      TimeUnit.SECONDS.sleep(idleSeconds); // the idle period being measured
      double cores = cores(cpu0, (System.nanoTime() - t0) / 1e9);
      if (System.getProperty("explain") != null && mode.equals("trigger")) {
        TableNames names = TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures");
        String poll = new io.pgembed.db.EmbeddingTables(names, 3, 100)
            .onlyIds(ChangeLog.of(names).upsertedIds(Long.MAX_VALUE)).firstPendingQuery(fingerprint, 10000);
        try (Connection c = PipelineTestSupport.connect(url); Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("EXPLAIN (ANALYZE, BUFFERS) " + poll)) {
          while (rs.next()) {
            System.out.println("  " + rs.getString(1));
          }
        }
      }
      List<Double> latencies = new ArrayList<>();
      for (int i = 0; i < inserts; i++) {
        latencies.add(insertAndWait(url, nextId--, 60));
      }
      Collections.sort(latencies);
      System.out.printf("%-7s %,9d rows: idle PostgreSQL %.3f cores; commit-to-vector latency of %d inserts p50 %.2f s,"
              + " p95 %.2f s, max %.2f s%n", mode, rows, cores, inserts, latencies.get(latencies.size() / 2),
          latencies.get((int) Math.ceil(latencies.size() * 0.95) - 1), latencies.get(latencies.size() - 1));
    } finally {
      stop.set(true);
      run.get(5, TimeUnit.MINUTES);
    }
  }

  /** Whether the change log's one scan has been recorded. */
  private static final class TestDatabaseValue {
    static long scanned(String url) {
      try {
        return io.pgembed.db.TestDatabase.count(url, "SELECT count(*) FROM docs_changes_state");
      } catch (java.sql.SQLException e) {
        return 0; // not installed yet
      }
    }
  }

  /** Inserts row {@code id} and waits for its vector; the seconds from commit to vector (the bound if never). */
  private static double insertAndWait(String url, long id, int boundSeconds) throws Exception {
    PipelineTestSupport.execute(url, "INSERT INTO docs VALUES (" + id + ", 'a new package number " + id + "')");
    long t0 = System.nanoTime();
    long end = t0 + TimeUnit.SECONDS.toNanos(boundSeconds);
    try (Connection c = PipelineTestSupport.connect(url);
        PreparedStatement ps = c.prepareStatement("SELECT 1 FROM docs_embeddings WHERE artifact_id = ?")) {
      ps.setLong(1, id);
      while (System.nanoTime() < end) {
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return (System.nanoTime() - t0) / 1e9;
          }
        }
        TimeUnit.MILLISECONDS.sleep(10); // the granularity of the measurement
      }
    }
    return boundSeconds;
  }

  /**
   * The server's CPU cores over a period that began with {@code before} ({@link #serverCpu}) {@code seconds} ago: the
   * growth of each process alive at both ends, and all of each one started since. A process that ended in between
   * (a pool closing an idle connection) is left out, not subtracted.
   */
  private static double cores(java.util.Map<Long, Long> before, double seconds) throws Exception {
    long ticks = 0;
    for (java.util.Map.Entry<Long, Long> e : serverCpu().entrySet()) {
      ticks += e.getValue() - before.getOrDefault(e.getKey(), 0L);
    }
    return ticks / 100.0 / seconds; // USER_HZ
  }

  /** CPU ticks (user + system) of each of the PostgreSQL server's processes: the postmaster and its children. */
  private static java.util.Map<Long, Long> serverCpu() throws Exception {
    java.util.Map<Long, Long> out = new java.util.HashMap<>();
    Path log = PgVectorServer.serverLog();
    long postmaster = Long.parseLong(Files.readAllLines(log.getParent().resolve("data/postmaster.pid")).get(0).strip());
    try (var procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String stat = Files.readString(p.resolve("stat"));
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long pid = Long.parseLong(name);
          if (pid == postmaster || Long.parseLong(f[1]) == postmaster) {
            out.put(pid, Long.parseLong(f[11]) + Long.parseLong(f[12]));
          }
        } catch (java.io.IOException | RuntimeException gone) {
          // a process that ended while listed
        }
      }
    }
    return out;
  }

  /**
   * The triggers' cost to the user's writes, with and without them, in alternating rounds (the median of five): a
   * {@code n}-row insert and an update of every row's text, each one statement; then 2,000 single-row updates of the
   * text and 2,000 single-row inserts, each committed alone.
   */
  private static void writeCost(int n) throws Exception {
    String url = PgVectorServer.newDatabase("capturewrites");
    int rounds = 5;
    int single = 2_000;
    double[][] plain = new double[4][rounds];
    double[][] logged = new double[4][rounds];
    for (int r = 0; r < rounds; r++) {
      double[] p = writes(url, "plain" + r, n, single, false);
      double[] l = writes(url, "logged" + r, n, single, true);
      for (int k = 0; k < 4; k++) {
        plain[k][r] = p[k];
        logged[k][r] = l[k];
      }
    }
    String[] what = {n + "-row insert", "update of " + n + " texts", single + " single-row updates",
        single + " single-row inserts"};
    System.out.printf("the triggers' cost to the user's writes (median of %d alternating rounds):%n", rounds);
    for (int k = 0; k < 4; k++) {
      double a = median(plain[k]);
      double b = median(logged[k]);
      System.out.printf("  %-28s %.3f s -> %.3f s (%.2fx)%n", what[k], a, b, b / a);
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    return v[v.length / 2];
  }

  private static double[] writes(String url, String table, int n, int single, boolean triggers) throws Exception {
    PipelineTestSupport.execute(url, "CREATE TABLE " + table + " (id bigint PRIMARY KEY, content text)");
    if (triggers) {
      ChangeLog log = ChangeLog.of(TableNames.of(table, "id", "content", null, null, "embedding", "embedding_failures"));
      try (Connection c = PipelineTestSupport.connect(url)) {
        Database.executeAll(c, log.ddl(new Layout(IdType.BIGINT, VectorType.REAL_ARRAY, 384)));
      }
    }
    double[] seconds = new double[4];
    try (Connection c = PipelineTestSupport.connect(url);
        Statement s = c.createStatement()) {
      s.execute("CHECKPOINT");
      long t0 = System.nanoTime();
      s.execute("INSERT INTO " + table + " SELECT i, 'row ' || i FROM generate_series(1, " + n + ") i");
      seconds[0] = (System.nanoTime() - t0) / 1e9;
      t0 = System.nanoTime();
      s.execute("UPDATE " + table + " SET content = content || ' edited'");
      seconds[1] = (System.nanoTime() - t0) / 1e9;
      try (PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET content = ? WHERE id = ?")) {
        t0 = System.nanoTime();
        for (int i = 1; i <= single; i++) {
          update.setString(1, "row " + i + " edited alone");
          update.setLong(2, i);
          update.executeUpdate();
        }
        seconds[2] = (System.nanoTime() - t0) / 1e9;
      }
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " VALUES (?, 'a new row')")) {
        t0 = System.nanoTime();
        for (int i = 1; i <= single; i++) {
          insert.setLong(1, n + i);
          insert.executeUpdate();
        }
        seconds[3] = (System.nanoTime() - t0) / 1e9;
      }
      s.execute("DROP TABLE " + table + (triggers ? ", " + table + "_changes, " + table + "_changes_state CASCADE" : ""));
    }
    return seconds;
  }
}
