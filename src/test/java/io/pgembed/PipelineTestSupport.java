package io.pgembed;

import io.pgembed.model.ModelSpec;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.Preflight;
import io.pgembed.pipeline.RunController;
import io.pgembed.pipeline.RunReport;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.TestPipeline;

/** Runs the real job in a TestPipeline against a real PostgreSQL, and reads back what it wrote. */
public final class PipelineTestSupport {
  private PipelineTestSupport() {}

  public static EmbeddingPipelineOptions options(String jdbcUrl, String... extra) {
    List<String> args = new ArrayList<>(List.of("--jdbcUrl=" + jdbcUrl, "--device=cpu", "--maxBufferingMs=500"));
    args.addAll(List.of(extra));
    return OptionSources.parse(args.toArray(new String[0]), Map.of(), EmbeddingPipelineOptions.class);
  }

  public static RunReport run(TestPipeline pipeline, EmbeddingPipelineOptions o) throws Exception {
    return run(pipeline, o, EmbeddingPipeline.modelSpec(o));
  }

  /** The job's transform in {@code pipeline}, with {@code spec}'s model, run as the launcher runs it. */
  public static RunReport run(TestPipeline pipeline, EmbeddingPipelineOptions o, ModelSpec spec) throws Exception {
    try (Preflight.Checked checked = Preflight.check(o, spec)) {
      pipeline.apply("Embed pending rows", EmbeddingPipeline.embedPendingRows(checked, o));
      return RunController.execute(pipeline, checked, o, () -> false);
    }
  }

  /**
   * Runs the launcher in this JVM: its exit code, what it printed (without the test server's own log lines, which
   * share this process's output), and everything printed.
   */
  public static String[] launch(String... args) {
    int[] code = {0};
    String text = printed(() -> code[0] = Main.run(args));
    String launcher = text.lines().filter(l -> !l.contains("io.zonky.test.db.postgres"))
        .reduce("", (a, b) -> a + b + "\n");
    return new String[] {Integer.toString(code[0]), launcher, text};
  }

  /** Work whose output a test reads. */
  public interface Work {
    void run() throws Exception;
  }

  /** What {@code work} printed to standard output and error (this JVM's log lines among it). */
  public static String printed(Work work) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(printed, true, StandardCharsets.UTF_8);
    System.setOut(capture);
    System.setErr(capture);
    try {
      work.run();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
    return printed.toString(StandardCharsets.UTF_8);
  }

  /** A new table {@code docs (id bigint PRIMARY KEY, content text)} of rows 1..n with {@code text}'s texts. */
  public static Map<Long, String> createDocs(String jdbcUrl, int n, java.util.function.LongFunction<String> text)
      throws SQLException {
    execute(jdbcUrl, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    Map<Long, String> rows = new java.util.LinkedHashMap<>();
    for (long i = 1; i <= n; i++) {
      rows.put(i, text.apply(i));
    }
    insert(jdbcUrl, "docs", rows);
    return rows;
  }

  /** A whole run as the launcher does it (in waves on the DirectRunner), with {@code spec}'s model. */
  public static RunReport runWhole(EmbeddingPipelineOptions o, ModelSpec spec) throws Exception {
    try (Preflight.Checked checked = Preflight.check(o, spec)) {
      return EmbeddingPipeline.run(checked, o, () -> false);
    }
  }

  /** {@link #runWhole} on another thread: a test changes the database meanwhile. */
  public static java.util.concurrent.CompletableFuture<RunReport> runWholeAsync(EmbeddingPipelineOptions o, ModelSpec spec) {
    return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return runWhole(o, spec);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** The launcher's checks, for the options' own model. */
  public static Preflight.Checked prepare(EmbeddingPipelineOptions o) throws SQLException {
    return Preflight.check(o, EmbeddingPipeline.modelSpec(o));
  }

  public static Connection connect(String jdbcUrl) throws SQLException {
    return DriverManager.getConnection(jdbcUrl);
  }

  public static void execute(String jdbcUrl, String sql) throws SQLException {
    try (Connection c = connect(jdbcUrl);
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** The first column of the first row of {@code sql}, as text. */
  public static String firstValue(String jdbcUrl, String sql) throws SQLException {
    try (Connection c = connect(jdbcUrl);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Inserts (id, content) rows. */
  public static void insert(String jdbcUrl, String table, Map<Long, String> rows) throws SQLException {
    try (Connection c = connect(jdbcUrl);
        PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, content) VALUES (?, ?)")) {
      for (Map.Entry<Long, String> e : rows.entrySet()) {
        ps.setLong(1, e.getKey());
        ps.setString(2, e.getValue());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** artifact_id -> vector of a target of one vector per row (the primary key makes each id appear once). */
  public static Map<String, float[]> vectors(String jdbcUrl, String target) throws SQLException {
    Map<String, float[]> out = new HashMap<>();
    try (Connection c = connect(jdbcUrl);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT artifact_id::text, embedding::real[] FROM " + target)) {
      while (rs.next()) {
        Float[] boxed = (Float[]) rs.getArray(2).getArray();
        float[] v = new float[boxed.length];
        for (int i = 0; i < v.length; i++) {
          v[i] = boxed[i];
        }
        if (out.put(rs.getString(1), v) != null) {
          throw new IllegalArgumentException(target + " holds several vectors for " + rs.getString(1)
              + ": a target of chunks, which this reader of one vector per row does not read");
        }
      }
    }
    return out;
  }
}
