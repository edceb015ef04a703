package io.pgembed.jobs;

import static io.pgembed.Await.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.HeldModel;
import io.pgembed.options.OptionSources;
import io.pgembed.options.WorkerOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** A worker running real pipeline jobs: retries, final failure, health and metrics. */
public class JobWorkerTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static WorkerOptions workerOptions(String db, String... extra) {
    List<String> args = new java.util.ArrayList<>(
        List.of("--jdbcUrl=" + db, "--device=cpu", "--queue=q", "--retryDelayMs=100", "--leaseMs=5000", "--pollMs=100",
            "--port=0"));
    args.addAll(List.of(extra));
    return OptionSources.parse(args.toArray(new String[0]), Map.of(), WorkerOptions.class);
  }

  private static void sql(String db, String statement) throws Exception {
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement()) {
      s.execute(statement);
    }
  }

  /** The worker's claim loop on a thread of its own (not started). */
  private static Thread loop(JobWorker worker) {
    return new Thread(() -> {
      try {
        worker.run();
      } catch (InterruptedException ignored) {
        // stopping
      }
    });
  }

  static JobQueue.Job job(JobQueue q, long id) throws Exception {
    return q.recent(100).stream().filter(j -> j.id() == id).findFirst().orElseThrow();
  }


  static BooleanSupplier status(JobQueue q, long id, String status, int attempts) {
    return () -> {
      try {
        JobQueue.Job j = job(q, id);
        return j.status().equals(status) && j.attempts() == attempts;
      } catch (Exception e) {
        return false;
      }
    };
  }

  @Test
  public void aJobThatFailsTwiceThenSucceedsEndsSucceededAfterThreeAttempts() throws Exception {
    String db = TestDatabase.newDatabase("worker");
    WorkerOptions o = workerOptions(db, "--retries=3");
    JobWorker worker = new JobWorker(o, Map.of());
    Thread loop = loop(worker);
    try (WorkerServer server = new WorkerServer(worker, 0)) {
      JobQueue q = worker.queue();
      // The source table does not exist yet: attempts 1 and 2 fail.
      long flaky = q.enqueue("q", List.of("--sourceTable=late_table"), 4);
      long doomed = q.enqueue("q", List.of("--sourceTable=doomed", "--textColumn=nope"), 2);
      sql(db, "CREATE TABLE doomed (id bigint PRIMARY KEY, content text)");
      loop.start();
      await("job " + flaky + " to fail twice", 120, status(q, flaky, "queued", 2));
      sql(db, "CREATE TABLE late_table (id bigint PRIMARY KEY, content text)");
      sql(db, "INSERT INTO late_table VALUES (1, 'first row'), (2, 'second row'), (3, 'third row')");
      await("job " + flaky + " to succeed", 120, status(q, flaky, "succeeded", 3));
      await("job " + doomed + " to fail for good", 120, status(q, doomed, "failed", 2));

      JobQueue.Job ok = job(q, flaky);
      assertTrue(ok.metrics(), ok.metrics().contains("\"rows_embedded\": 3"));
      assertEquals(null, ok.error());
      assertTrue(ok.startedAt() != null && ok.finishedAt() != null);
      assertEquals(worker.name(), ok.worker());
      JobQueue.Job bad = job(q, doomed);
      assertTrue(bad.error(), bad.error().contains("--textColumn=nope: doomed has no such column"));
      try (Connection c = DriverManager.getConnection(db);
          ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM late_table_embeddings")) {
        rs.next();
        assertEquals(3, rs.getInt(1));
      }

      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> health = http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode());
      assertEquals("{\"status\":\"ready\",\"database\":\"reachable\",\"model\":\"loaded\"}\n", health.body());
      HttpResponse<String> metrics = http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertPrometheusText(metrics.body());
      assertTrue(metrics.body(), metrics.body().contains("pgembed_jobs{queue=\"q\",status=\"succeeded\"} 1\n"));
      assertTrue(metrics.body().contains("pgembed_jobs{queue=\"q\",status=\"failed\"} 1\n"));
      assertTrue(metrics.body().contains("pgembed_queue_depth{queue=\"q\"} 0.0\n"));
      assertTrue(metrics.body().contains("pgembed_rows_embedded_total{queue=\"q\"} 3\n"));
      assertTrue(metrics.body().contains("pgembed_worker_jobs_failed_total{queue=\"q\"} 1\n"));
      assertTrue(metrics.body().contains("pgembed_last_job_latency_seconds{queue=\"q\"} "));
    } finally {
      worker.stop();
      loop.join(TimeUnit.SECONDS.toMillis(60));
      worker.close();
    }
  }

  /** Waits until {@code ms} have passed since {@code sinceMillis}: a deadline that started before then has passed. */
  static void awaitClockPast(long sinceMillis, long ms) throws InterruptedException {
    await("the run's deadline to pass while a forward pass is held", 120,
        () -> System.currentTimeMillis() > sinceMillis + ms);
  }

  @Test
  public void aJobOverItsTimeLimitIsStoppedRecordedRetriedAndFailedAfterItsAttempts() throws Exception {
    String db = TestDatabase.newDatabase("jobtimeout");
    sql(db, "CREATE TABLE slow (id bigint PRIMARY KEY, content text)");
    sql(db, "INSERT INTO slow SELECT i, 'row ' || i || ' of a table too large for its time limit, with words'"
        + " FROM generate_series(1, 600) i");
    // Each attempt's first forward pass is held at a gate until its --timeout has passed: the group it belongs to
    // (started before the deadline) is written, every later group is left pending, on any machine. A retry waits
    // for the test (a long --retryDelayMs, then run_after moved), so the gate is closed again before it starts.
    String gate = "jobtimeout-" + System.nanoTime();
    JobWorker worker = new JobWorker(workerOptions(db, "--retryDelayMs=600000"), Map.of(), spec -> new HeldModel(spec, gate));
    Thread loop = loop(worker);
    try {
      JobQueue q = worker.queue();
      long id = q.enqueue("q", List.of("--sourceTable=slow", "--timeout=5000"), 2);
      loop.start();
      HeldModel.awaitHeld(gate, 1, 180_000);
      awaitClockPast(System.currentTimeMillis(), 5000);
      HeldModel.open(gate);
      await("job " + id + " to be retried", 120, status(q, id, "queued", 1));
      HeldModel.close(gate);
      sql(db, "UPDATE embedding_jobs SET run_after = now() WHERE id = " + id);
      HeldModel.awaitHeld(gate, 2, 180_000);
      awaitClockPast(System.currentTimeMillis(), 5000);
      HeldModel.open(gate);
      await("job " + id + " to fail for good after 2 attempts", 180, status(q, id, "failed", 2));
      JobQueue.Job j = job(q, id);
      long written;
      try (Connection c = DriverManager.getConnection(db);
          ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM slow_embeddings")) {
        rs.next();
        written = rs.getLong(1);
      }
      assertTrue("both attempts wrote the group they had started, and kept it: " + written,
          written > 0 && written < 600);
      // What the attempts wrote is kept: the error names exactly what is still pending.
      assertEquals("partial: stopped at --timeout=5000 ms, " + (600 - written) + " rows still pending", j.error());

      // The same work without a limit finishes the rest, and only the rest.
      long rest = q.enqueue("q", List.of("--sourceTable=slow"), 1);
      await("job " + rest + " to succeed", 300, status(q, rest, "succeeded", 1));
      assertTrue(job(q, rest).metrics(),
          job(q, rest).metrics().contains("\"rows_embedded\": " + (600 - written) + ","));
    } finally {
      HeldModel.open(gate);
      worker.stop();
      loop.join(TimeUnit.SECONDS.toMillis(60));
      worker.close();
    }
  }

  @Test
  public void cancellingARunningJobStopsItsPipeline() throws Exception {
    String db = TestDatabase.newDatabase("cancelrun");
    sql(db, "CREATE TABLE big (id bigint PRIMARY KEY, content text)");
    sql(db, "INSERT INTO big SELECT g, 'row number ' || g || ' of a table that takes a while to embed'"
        + " FROM generate_series(1, 3000) g");
    // The job's first forward pass is held until the job is cancelled: nothing can have been written.
    String gate = "cancelrun-" + System.nanoTime();
    JobWorker worker = new JobWorker(workerOptions(db, "--leaseMs=1500"), Map.of(), spec -> new HeldModel(spec, gate));
    Thread loop = loop(worker);
    try {
      JobQueue q = worker.queue();
      long id = q.enqueue("q", List.of("--sourceTable=big", "--batchSize=8", "--writeBatchSize=8"), 1);
      loop.start();
      HeldModel.awaitHeld(gate, 1, 180_000);
      assertEquals("running", job(q, id).status());
      assertTrue(q.cancel(id));
      await("the worker to stop the job's pipeline", 60, () -> worker.stats.jobsStopped.get() == 1);
      JobQueue.Job j = job(q, id);
      assertEquals("cancelled", j.status());
      assertEquals(null, j.metrics());
      try (Connection c = DriverManager.getConnection(db);
          ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM big_embeddings")) {
        rs.next();
        assertEquals("stopped before its first forward pass ended", 0, rs.getLong(1));
      }
    } finally {
      HeldModel.open(gate);
      worker.stop();
      loop.join(TimeUnit.SECONDS.toMillis(60));
      worker.close();
    }
  }

  @Test
  public void healthGoesNotReadyWhileTheDatabaseIsDownAndReadyWhenItIsBack() throws Exception {
    Path data = tmp.newFolder("pgdata").toPath();
    EmbeddedPostgres pg = EmbeddedPostgres.builder().setDataDirectory(data).setCleanDataDirectory(false).start();
    int port = pg.getPort();
    String db = pg.getJdbcUrl("postgres", "postgres");
    JobWorker worker = new JobWorker(workerOptions(db), Map.of());
    try (WorkerServer server = new WorkerServer(worker, 0)) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      URI health = URI.create("http://127.0.0.1:" + server.port() + "/health");
      assertEquals(200, http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).statusCode());

      pg.close();
      HttpResponse<String> down = http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, down.statusCode());
      assertTrue(down.body(), down.body().startsWith("{\"status\":\"not ready\",\"database\":\"unreachable"));
      assertTrue(down.body().endsWith("\"model\":\"loaded\"}\n"));

      pg = EmbeddedPostgres.builder().setDataDirectory(data).setCleanDataDirectory(false).setPort(port).start();
      assertEquals(200, http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    } finally {
      worker.close();
      pg.close();
    }
  }

  /** Every line is a comment or {@code name{labels} value}. */
  static void assertPrometheusText(String body) {
    Pattern sample = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})? -?[0-9.eE+-]+");
    for (String line : body.split("\n")) {
      assertTrue("not Prometheus text: " + line,
          line.startsWith("# HELP ") || line.startsWith("# TYPE ") || sample.matcher(line).matches());
    }
  }
}
