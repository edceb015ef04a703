package io.pgembed.flink;

import static io.pgembed.Await.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.db.TestDatabase;
import io.pgembed.db.WriteGate;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;

/**
 * The job on a real Flink 1.19 session cluster: a JobManager and TaskManagers in their own JVMs, started by
 * {@code runners/flink-cluster.sh}, and the bundled jar submitted by {@code runners/flink.sh}, as a user would.
 * Runs after {@code package} (failsafe), since it submits the bundled jar.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class FlinkClusterIT {
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final Path HOME = ROOT.resolve("target/flink-cluster-it");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ENV = new HashMap<>();

  @BeforeClass
  public static void startCluster() throws Exception {
    ENV.put("FLINK_CLUSTER_HOME", HOME.toString());
    ENV.put("FLINK_REST_PORT", Integer.toString(freePort()));
    ENV.put("FLINK_RPC_PORT", Integer.toString(freePort()));
    ENV.put("FLINK_MASTER", "localhost:" + ENV.get("FLINK_REST_PORT"));
    ENV.put("JAVA_HOME", System.getProperty("java.home"));
    ENV.put("PGEMBED_JAR", io.pgembed.BundledJar.in(ROOT).toString());
    long t0 = System.nanoTime();
    Result r = script(240, "runners/flink-cluster.sh", "start", "--taskmanagers=1");
    assertEquals(r.output, 0, r.exit);
    System.out.printf("flink-cluster.sh start: %.1f s (JobManager + 1 TaskManager registered)%n", (System.nanoTime() - t0) / 1e9);
  }

  @AfterClass
  public static void stopCluster() throws Exception {
    List<Long> pids = new ArrayList<>();
    for (File f : pidFiles()) {
      pids.add(Long.parseLong(Files.readString(f.toPath()).trim()));
    }
    Result r = script(60, "runners/flink-cluster.sh", "stop");
    assertEquals(r.output, 0, r.exit);
    for (long pid : pids) {
      assertFalse("pid " + pid + " still runs after stop", ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }
    assertEquals(3, script(30, "runners/flink-cluster.sh", "status").exit);
  }

  @Test
  public void a_theTaskManagerJvmEmbedsWhatTheSubmittedJobReads() throws Exception {
    String db = TestDatabase.newDatabase("flinkcluster");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 200);
    Path report = HOME.resolve("report-a.json");
    // A password from a file (this test server trusts local logins, so it is not checked; the point is where it
    // must never show): each TaskManager reads the file itself.
    String secret = "pw-" + java.util.UUID.randomUUID();
    Path passwordFile = HOME.resolve("password");
    Files.writeString(passwordFile, secret + "\n");
    Result r = script(300, "runners/flink.sh", "run", "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=artifacts",
        "--parallelism=2", "--reportFile=" + report, "--passwordFile=" + passwordFile);
    assertEquals(r.output, 0, r.exit);
    assertThat(r.output, containsString("=== embedding run: complete ==="));
    assertThat("the client's output", r.output, not(containsString(secret)));
    assertNoSecretInTheRestApiOrProcesses(secret);

    JsonNode rep = JSON.readTree(report.toFile());
    assertEquals("complete", rep.get("status").asText());
    assertEquals(200, rep.get("rows_embedded").asLong());
    assertEquals(0, rep.get("still_pending").asLong());
    // The TaskManager's JVM embedded every row, with one model for its two slots; the client (flink.sh execs java,
    // so its pid is the script's) embedded none.
    long tm = pid("taskmanager-1");
    JsonNode jvms = rep.get("worker_jvms");
    assertEquals(jvms.toString(), 1, jvms.size());
    String jvm = jvms.fieldNames().next();
    assertTrue(jvm + " is not the TaskManager's pid " + tm, jvm.startsWith(tm + "@"));
    assertFalse(jvm.startsWith(r.pid + "@"));
    assertEquals(200, jvms.get(jvm).get("rows_embedded").asLong());
    assertEquals(1, jvms.get(jvm).get("models_loaded").asLong());
    // The TaskManager's own peak memory, not the client's: it holds the model (a few hundred MiB of libtorch).
    assertThat(jvms.get(jvm).get("peak_rss_bytes").asLong(), greaterThan(200L << 20));
    assertThat(jvms.get(jvm).get("peak_heap_bytes").asLong(), greaterThan(0L));
    FlinkTestRows.assertEveryRowEmbedded(rows, db);

    // A second job on the same session cluster: a new job classloader, the same natives (loaded parent-first).
    try (var c = java.sql.DriverManager.getConnection(db)) {
      c.createStatement().execute("UPDATE artifacts SET content = content || ' (edited)' WHERE id < 20");
    }
    for (long id = 0; id < 20; id++) {
      rows.put(id, rows.get(id) + " (edited)");
    }
    Result again = script(300, "runners/flink.sh", "run", "--jdbcUrl=" + db, "--device=cpu", "--sourceTable=artifacts",
        "--parallelism=2", "--reportFile=" + report);
    assertEquals(again.output, 0, again.exit);
    rep = JSON.readTree(report.toFile());
    assertEquals("complete", rep.get("status").asText());
    assertEquals(20, rep.get("rows_embedded").asLong());
    assertTrue(rep.get("worker_jvms").toString(), rep.get("worker_jvms").fieldNames().next().startsWith(tm + "@"));
    FlinkTestRows.assertEveryRowEmbedded(rows, db);
  }

  @Test
  public void b_aTaskManagerKilledMidJobIsReplacedAndTheRestartStrategyFinishesTheJob() throws Exception {
    long victim = pid("taskmanager-1");
    String db = TestDatabase.newDatabase("flinkfailover");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 900);
    Path report = HOME.resolve("report-b.json");
    Path out = HOME.resolve("failover-client.log");
    // The job's writes are held once 300 vectors are in: the TaskManager is killed midway on any machine.
    WriteGate gate = WriteGate.closedAfter(db, "artifacts", 384, 300);
    Process client = process(List.of("runners/flink.sh", "run", "--jdbcUrl=" + db, "--device=cpu",
        "--sourceTable=artifacts", "--parallelism=2", "--executionRetryDelay=2000", "--writeBatchSize=50",
        "--reportFile=" + report), out);

    // Kill the only TaskManager while its writes are held; then start a replacement, as Kubernetes would restart
    // the pod, and let the writes through.
    gate.awaitHeld(240);
    assertTrue(ProcessHandle.of(victim).orElseThrow().destroyForcibly());
    long writtenBeforeKill = TestDatabase.count(db, "SELECT count(*) FROM artifacts_embeddings");
    gate.open();
    assertThat("killed midway", writtenBeforeKill, lessThan(900L));
    System.out.printf("killed taskmanager-1 (pid %d) with %d of 900 rows written%n", victim, writtenBeforeKill);
    Result added = script(240, "runners/flink-cluster.sh", "add-taskmanager");
    assertEquals(added.output, 0, added.exit);
    long replacement = pid("taskmanager-2");

    assertTrue("the client did not finish in 300 s", client.waitFor(300, TimeUnit.SECONDS));
    String output = Files.readString(out);
    assertEquals(output, 0, client.exitValue());
    JsonNode rep = JSON.readTree(report.toFile());
    assertEquals("complete", rep.get("status").asText());
    assertEquals(0, rep.get("still_pending").asLong());
    // Every row exactly once (the target's key is the row id; the count checks that no row is missing).
    FlinkTestRows.assertEveryRowEmbedded(rows, db);
    // The job restarted under the strategy of --numberOfExecutionRetries, and the replacement embedded the rest.
    String jobManagerLog = Files.readString(HOME.resolve("log/jobmanager.log"));
    assertThat(jobManagerLog, containsString("FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=3, backoffTimeMS=2000)"));
    assertThat(jobManagerLog, containsString("taskmanager-1 is no longer reachable"));
    JsonNode jvms = rep.get("worker_jvms");
    String replacementJvm = null;
    for (Iterator<String> it = jvms.fieldNames(); it.hasNext(); ) {
      String jvm = it.next();
      assertTrue(jvms.toString(), jvm.startsWith(victim + "@") || jvm.startsWith(replacement + "@"));
      replacementJvm = jvm.startsWith(replacement + "@") ? jvm : replacementJvm;
    }
    assertTrue("the replacement TaskManager embedded nothing: " + jvms, replacementJvm != null);
    assertThat(jvms.get(replacementJvm).get("rows_embedded").asLong(), greaterThan(0L));
  }

  /** A queue worker started with runners/flink.sh submits its jobs to the cluster: a TaskManager embeds them. */
  @Test
  public void d_aQueueWorkerStartedOnFlinkSubmitsItsJobsToTheCluster() throws Exception {
    String db = TestDatabase.newDatabase("flinkworker");
    Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 30);
    io.pgembed.jobs.JobQueue queue = new io.pgembed.jobs.JobQueue(new io.pgembed.db.Database(db, null, null));
    long job = queue.enqueue("flink", List.of("--sourceTable=artifacts", "--device=cpu"), 1);
    Result worker = script(300, "runners/flink.sh", "worker", "--jdbcUrl=" + db, "--device=cpu", "--queue=flink",
        "--exitWhenIdle=true", "--pollMs=200", "--port=0", "--parallelism=2");
    assertEquals(worker.output, 0, worker.exit);
    io.pgembed.jobs.JobQueue.Job done =
        queue.recent(10).stream().filter(j -> j.id() == job).findFirst().orElseThrow();
    assertEquals(done.error(), "succeeded", done.status());
    JsonNode metrics = JSON.readTree(done.metrics());
    assertEquals(30, metrics.get("rows_embedded").asLong());
    String jvm = metrics.get("worker_jvms").fieldNames().next();
    assertEquals(metrics.get("worker_jvms").toString(), 1, metrics.get("worker_jvms").size());
    assertTrue(jvm + " is not a live TaskManager of the cluster", liveTaskManagerPids().contains(jvm.substring(0, jvm.indexOf('@'))));
    assertFalse(jvm.startsWith(worker.pid + "@"));
    FlinkTestRows.assertEveryRowEmbedded(rows, db);
  }

  private static java.util.Set<String> liveTaskManagerPids() throws IOException {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (File f : pidFiles()) {
      String pid = Files.readString(f.toPath()).trim();
      if (f.getName().startsWith("taskmanager-") && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)) {
        out.add(pid);
      }
    }
    return out;
  }

  /**
   * Why DJL loads parent-first: on a cluster whose configuration lacks classloader.parent-first-patterns.additional,
   * the first job works, and the second fails, because libtorch is still bound to the first job's classloader.
   */
  @Test
  public void c_withoutParentFirstDjlTheSecondJobOnASessionClusterCannotLoadLibtorch() throws Exception {
    Path home = ROOT.resolve("target/flink-cluster-it-child-first");
    Path conf = home.resolve("conf");
    Files.createDirectories(conf);
    List<String> config = new ArrayList<>(Files.readAllLines(ROOT.resolve("runners/flink-conf/config.yaml")));
    assertTrue(config.removeIf(l -> l.startsWith("classloader.parent-first-patterns.additional:")));
    Files.write(conf.resolve("config.yaml"), config);
    Map<String, String> env = new HashMap<>(ENV);
    env.put("FLINK_CLUSTER_HOME", home.toString());
    env.put("FLINK_CLUSTER_CONF", conf.toString());
    env.put("FLINK_REST_PORT", Integer.toString(freePort()));
    env.put("FLINK_RPC_PORT", Integer.toString(freePort()));
    env.put("FLINK_MASTER", "localhost:" + env.get("FLINK_REST_PORT"));
    try {
      Result up = script(env, 240, "runners/flink-cluster.sh", "start");
      assertEquals(up.output, 0, up.exit);
      String db = TestDatabase.newDatabase("childfirst");
      Map<Long, String> rows = FlinkTestRows.createArtifacts(db, 40);
      Result first = script(env, 300, "runners/flink.sh", "run", "--jdbcUrl=" + db, "--device=cpu",
          "--sourceTable=artifacts", "--parallelism=1");
      assertEquals(first.output, 0, first.exit);
      FlinkTestRows.assertEveryRowEmbedded(rows, db);
      try (var c = java.sql.DriverManager.getConnection(db)) {
        c.createStatement().execute("UPDATE artifacts SET content = content || ' (edited)' WHERE id < 10");
      }
      Result second = script(env, 300, "runners/flink.sh", "run", "--jdbcUrl=" + db, "--device=cpu",
          "--sourceTable=artifacts", "--parallelism=1", "--numberOfExecutionRetries=0");
      assertEquals(second.output, 1, second.exit);
      assertThat(second.output, containsString("=== embedding run: failed ==="));
      assertThat(second.output, containsString("already loaded in another classloader"));
    } finally {
      Result down = script(env, 60, "runners/flink-cluster.sh", "stop");
      assertEquals(down.output, 0, down.exit);
    }
  }

  private static long pid(String process) throws IOException {
    return Long.parseLong(Files.readString(HOME.resolve("run/" + process + ".pid")).trim());
  }

  private static List<File> pidFiles() {
    File[] files = HOME.resolve("run").toFile().listFiles((d, n) -> n.endsWith(".pid"));
    return files == null ? List.of() : List.of(files);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private record Result(int exit, long pid, String output) {}

  private static Process process(List<String> command, Path output) throws IOException {
    return process(ENV, command, output);
  }

  private static Process process(Map<String, String> env, List<String> command, Path output) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
        .redirectOutput(output.toFile());
    pb.environment().putAll(env);
    Files.createDirectories(output.getParent());
    return pb.start();
  }

  private static Result script(int timeoutSeconds, String... command) throws Exception {
    return script(ENV, timeoutSeconds, command);
  }

  private static Result script(Map<String, String> env, int timeoutSeconds, String... command) throws Exception {
    Path out = Files.createTempFile("flink-it", ".log");
    Process p = process(env, List.of(command), out);
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not end in " + timeoutSeconds + " s:\n" + Files.readString(out));
    }
    String output = Files.readString(out);
    System.out.println("$ " + String.join(" ", command) + "\n" + tail(output));
    return new Result(p.exitValue(), p.pid(), output);
  }

  private static String tail(String s) {
    return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
  }


  /**
   * The Flink REST API's view of every job (overview, details, job config with the pipeline options) and the
   * command lines of every process on this machine hold no password.
   */
  private static void assertNoSecretInTheRestApiOrProcesses(String secret) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String base = "http://localhost:" + ENV.get("FLINK_REST_PORT");
    java.util.function.Function<String, String> get = path -> {
      try {
        return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + path)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).body();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    };
    JsonNode jobs = JSON.readTree(get.apply("/jobs/overview")).get("jobs");
    assertThat("jobs on the cluster", jobs.size(), greaterThan(0));
    for (JsonNode job : jobs) {
      String id = job.get("jid").asText();
      for (String path : List.of("/jobs/" + id, "/jobs/" + id + "/config", "/jobs/" + id + "/exceptions")) {
        String body = get.apply(path);
        assertThat(path, body, containsString(path.endsWith("/exceptions") ? "all-exceptions" : id));
        assertThat(path, body, not(containsString(secret)));
      }
      assertThat("the job config holds the options", get.apply("/jobs/" + id + "/config"),
          containsString("passwordFile"));
    }
    Process ps = new ProcessBuilder("ps", "-eo", "args").redirectErrorStream(true).start();
    String args = new String(ps.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(ps.waitFor(30, TimeUnit.SECONDS));
    assertThat("ps sees the TaskManager", args, containsString("taskmanager-1"));
    assertThat("ps", args, not(containsString(secret)));
  }
}
