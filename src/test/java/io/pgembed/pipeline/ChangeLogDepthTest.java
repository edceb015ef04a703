package io.pgembed.pipeline;

import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.db.TestDatabase.count;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import io.pgembed.Await;
import io.pgembed.PipelineTestSupport;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.HeldModel;
import io.pgembed.model.TokenHashModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * The change log's depth as a user sees it: in --verbose progress lines while a run drains it, and on a worker's
 * /metrics, whose trigger jobs scan once and then read only the log.
 */
public class ChangeLogDepthTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static long logEntries(String db) throws Exception {
    return count(db, "SELECT coalesce(sum(cardinality(ids)), 0) FROM docs_changes");
  }

  @Test
  public void verboseProgressLinesEndWithTheLogsDepth() throws Exception {
    String db = TestDatabase.newDatabase("capturedepth");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'document ' || i FROM generate_series(1, 4) i");
    PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--changeCapture=trigger"), MODEL);
    execute(db, "INSERT INTO docs VALUES (5, 'five'), (6, 'six'); UPDATE docs SET content = 'one, edited' WHERE id = 1");
    String gate = "depth-" + System.nanoTime();
    PrintStream out = System.out;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
    CompletableFuture<RunReport> run;
    try {
      // The forward passes are held, so the run is still draining when its progress line (every 5 s) is printed.
      run = PipelineTestSupport.runWholeAsync(options(db, "--sourceTable=docs", "--changeCapture=trigger",
          "--verbose"), new HeldModel(MODEL, gate));
      HeldModel.awaitHeld(gate, 1, 120_000);
      Await.await("a progress line", 60, () -> printed.toString(StandardCharsets.UTF_8).contains("progress: "));
    } finally {
      HeldModel.open(gate);
      System.setOut(out);
    }
    assertEquals(3, run.get(2, TimeUnit.MINUTES).embedded());
    String line = printed.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("progress: ")).findFirst()
        .orElseThrow();
    assertThat(line, org.hamcrest.Matchers.matchesPattern(
        "progress: 0/3 rows, 0\\.0 rows/s, ETA -; change log 3 queued, the oldest [0-9]+\\.[0-9] s old"));
    assertEquals(0, logEntries(db));
  }

  @Test
  public void aWorkerRunsTriggerJobsAndItsMetricsShowEachChangeLogsDepth() throws Exception {
    String db = TestDatabase.newDatabase("capturemetrics");
    execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs SELECT i, 'document ' || i FROM generate_series(1, 4) i");
    io.pgembed.options.WorkerOptions o = io.pgembed.options.OptionSources.parse(new String[] {"--jdbcUrl=" + db,
        "--device=cpu", "--queue=q", "--port=0", "--pollMs=100"}, Map.of(), io.pgembed.options.WorkerOptions.class);
    io.pgembed.jobs.JobWorker worker = new io.pgembed.jobs.JobWorker(o, Map.of());
    Thread loop = new Thread(() -> {
      try {
        worker.run();
      } catch (InterruptedException stopping) {
        Thread.currentThread().interrupt();
      }
    });
    try (io.pgembed.jobs.WorkerServer server = new io.pgembed.jobs.WorkerServer(worker, 0)) {
      loop.start();
      assertThat("the first job installs the log and scans once", awaitJob(worker), containsString("\"rows_read\": 4"));
      // Three changes: two inserted rows and one edited text.
      execute(db, "INSERT INTO docs VALUES (5, 'five'), (6, 'six'); UPDATE docs SET content = 'one, edited' WHERE id = 1");
      assertThat(metrics(server), containsString("pgembed_change_log_entries{log=\"docs_changes\"} 3\n"));
      assertThat(metrics(server), containsString("pgembed_change_log_oldest_seconds{log=\"docs_changes\"} "));

      assertThat("the next job reads only the three changed rows", awaitJob(worker),
          containsString("\"rows_read\": 3"));
      assertEquals("every row's vector is of its current text", 6, count(db, "SELECT count(*) FROM docs d JOIN"
          + " docs_embeddings e ON e.artifact_id = d.id AND e.content_sha256 = sha256(convert_to(d.content, 'UTF8'))"));
      assertEquals(0, logEntries(db));
      assertThat(metrics(server), containsString("pgembed_change_log_entries{log=\"docs_changes\"} 0\n"));
    } finally {
      worker.stop();
      loop.join(TimeUnit.SECONDS.toMillis(60));
      worker.close();
    }
  }

  /** Enqueues a trigger job for docs, waits for it to succeed, and returns its metrics. */
  private static String awaitJob(io.pgembed.jobs.JobWorker worker) throws Exception {
    long job = worker.queue().enqueue("q", List.of("--sourceTable=docs", "--changeCapture=trigger"), 1);
    java.util.function.Supplier<java.util.Optional<io.pgembed.jobs.JobQueue.Job>> find = () -> {
      try {
        return worker.queue().recent(10).stream().filter(j -> j.id() == job).findFirst();
      } catch (Exception e) {
        return java.util.Optional.empty();
      }
    };
    Await.await("job " + job + " to succeed", 120,
        () -> find.get().map(j -> j.status().equals("succeeded")).orElse(false));
    return find.get().orElseThrow().metrics();
  }

  private static String metrics(io.pgembed.jobs.WorkerServer server) throws Exception {
    java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    return metrics.body();
  }
}
