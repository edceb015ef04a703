package io.pgembed.jobs;

import static io.pgembed.Await.await;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.jobs.JobWorkerTest.job;
import static io.pgembed.jobs.JobWorkerTest.status;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import io.pgembed.db.TestDatabase;
import io.pgembed.options.OptionSources;
import io.pgembed.options.WorkerOptions;
import io.pgembed.PipelineTestSupport;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * Whoever can enqueue is not trusted with the worker's connection or its SQL: a job that names another server, a
 * password file, a pool or runner option is failed with the reason and connects nowhere; a job's --sourceQuery runs
 * only where the worker allows it, and then only reads.
 */
public class JobSafetyTest {
  private static WorkerOptions worker(String db, String... extra) {
    List<String> args = new ArrayList<>(List.of("--jdbcUrl=" + db, "--device=cpu", "--queue=q", "--retries=0",
        "--pollMs=100", "--port=0", "--exitWhenIdle=true"));
    args.addAll(List.of(extra));
    return OptionSources.parse(args.toArray(new String[0]), Map.of(), WorkerOptions.class);
  }

  /** Runs a worker until the queue is idle. */
  private static void drain(WorkerOptions o) throws Exception {
    try (JobWorker w = new JobWorker(o, Map.of())) {
      w.run();
    }
  }

  @Test
  public void aJobNamingAnotherServerIsFailedWithTheReasonAndConnectsNowhere() throws Exception {
    String db = TestDatabase.newDatabase("redirect");
    PipelineTestSupport.execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs VALUES (1, 'one'), (2, 'two')");
    // A listener on another loopback address stands for the attacker's host: it counts every connection.
    AtomicInteger connections = new AtomicInteger();
    try (ServerSocket attacker = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.2"))) {
      Thread accept = new Thread(() -> {
        while (!attacker.isClosed()) {
          try (Socket s = attacker.accept()) {
            connections.incrementAndGet();
          } catch (java.io.IOException closed) {
            return;
          }
        }
      });
      accept.setDaemon(true);
      accept.start();
      String elsewhere = "--jdbcUrl=jdbc:postgresql://127.0.0.2:" + attacker.getLocalPort() + "/postgres";
      JobQueue q = new JobQueue(new io.pgembed.db.Database(db, null, null));
      long redirected = q.enqueue("q", List.of("--sourceTable=docs", elsewhere), 1);
      long file = q.enqueue("q", List.of("--sourceTable=docs", "--passwordFile=/etc/hostname"), 1);
      long user = q.enqueue("q", List.of("--sourceTable=docs", "--username=postgres2"), 1);
      long pool = q.enqueue("q", List.of("--sourceTable=docs", "--maxPoolSize=500"), 1);
      long runner = q.enqueue("q", List.of("--sourceTable=docs", "--reportFile=/tmp/x.json", "--runner=FlinkRunner"), 1);
      long query = q.enqueue("q", List.of("--sourceTable=docs", "--sourceQuery=SELECT id, content FROM docs"), 1);
      long same = q.enqueue("q", List.of("--sourceTable=docs", "--jdbcUrl=" + db), 1); // as older enqueues wrote
      drain(worker(db));

      assertEquals("no connection reached the other address", 0, connections.get());
      for (long id : new long[] {redirected, file, user, pool}) {
        JobQueue.Job j = job(q, id);
        assertEquals(j.error(), "failed", j.status());
        assertThat(j.error(), startsWith("RefusedJob: this job names --"));
        assertThat(j.error(), containsString("but a job's database connection is always the worker's own"));
      }
      assertThat(job(q, file).error(), containsString("--passwordFile"));
      assertThat(job(q, redirected).error(), containsString("--jdbcUrl"));
      assertEquals("RefusedJob: a job may not set --reportFile, --runner: a job names only data-plane options"
          + " (tables and columns, the model spec, batching, chunking, canary, --maxAttempts, --samplePercent,"
          + " --timeout, continuous mode, pruning and --changeCapture); the rest is the worker's own",
          job(q, runner).error());
      assertThat(job(q, query).error(), startsWith("RefusedJob: this job names --sourceQuery, SQL that would run as"
          + " the worker's database role; this worker does not run jobs' queries. Start the worker with"
          + " --allowJobSourceQuery=true"));
      assertEquals("a job repeating the worker's own URL runs", "succeeded", job(q, same).status());
      assertEquals(2, count(db, "SELECT count(*) FROM docs_embeddings"));
    }
  }

  @Test
  public void aJobsSourceQueryRunsOnlyWhereAllowedAndNeverWrites() throws Exception {
    String db = TestDatabase.newDatabase("jobquery");
    PipelineTestSupport.execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text);"
        + " INSERT INTO docs VALUES (1, 'one'), (2, 'two'), (3, 'three');"
        + " CREATE TABLE audit (what text);"
        // A function with a side effect, called for every row the query reads.
        + " CREATE FUNCTION steal(t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN"
        + "   INSERT INTO audit VALUES (t); DELETE FROM docs WHERE id = 3; RETURN t; END $$");
    JobQueue q = new JobQueue(new io.pgembed.db.Database(db, null, null));
    long writes = q.enqueue("q", List.of("--sourceTable=docs",
        "--sourceQuery=SELECT id, steal(content) AS content FROM docs"), 1);
    long cte = q.enqueue("q", List.of("--sourceTable=docs",
        "--sourceQuery=WITH gone AS (DELETE FROM docs RETURNING id, content) SELECT id, content FROM gone"), 1);
    long reads = q.enqueue("q", List.of("--sourceTable=docs", "--targetTable=upper_vectors",
        "--sourceQuery=SELECT id, upper(content) AS content FROM docs"), 1);
    drain(worker(db, "--allowJobSourceQuery=true"));

    assertEquals(job(q, writes).error(), "failed", job(q, writes).status());
    assertThat(job(q, writes).error(), containsString("--sourceQuery must only read, but it tried to write"));
    assertThat(job(q, writes).error(), containsString("cannot execute INSERT in a read-only transaction"));
    assertEquals("failed", job(q, cte).status());
    assertThat(job(q, cte).error(), containsString("--sourceQuery is not a query this database can run"));
    assertEquals("nothing was written through the queries", 0, count(db, "SELECT count(*) FROM audit"));
    assertEquals("nothing was deleted through them", 3, count(db, "SELECT count(*) FROM docs"));
    assertEquals(job(q, reads).error(), "succeeded", job(q, reads).status());
    assertEquals(3, count(db, "SELECT count(*) FROM upper_vectors"));
  }

  @Test
  public void aJobsConnectionOptionsAreRefusedAtEnqueueTooAndTheEnqueuedJobCarriesNone() throws Exception {
    String db = TestDatabase.newDatabase("enqueuecheck");
    String[] refused = PipelineTestSupport.launch("enqueue", "--jdbcUrl=" + db, "--queue=q", "--sourceTable=docs",
        "--profile=cpu", "--reportFile=/tmp/r.json");
    assertEquals(refused[1], "2", refused[0]);
    assertEquals("error: a job may not set --profile, --reportFile: a job names only data-plane options (tables and"
        + " columns, the model spec, batching, chunking, canary, --maxAttempts, --samplePercent, --timeout,"
        + " continuous mode, pruning and --changeCapture); the rest is the worker's own\n", refused[1]);
    String[] ok = PipelineTestSupport.launch("enqueue", "--jdbcUrl=" + db, "--username=postgres", "--maxPoolSize=3",
        "--queue=q", "--retries=0", "--sourceTable=docs", "--batchSize=16");
    assertEquals(ok[1], "0", ok[0]);
    assertEquals("the connection is the worker's, not the job's", "[\"--sourceTable=docs\", \"--batchSize=16\"]",
        PipelineTestSupport.firstValue(db, "SELECT params->'args' FROM embedding_jobs ORDER BY id DESC LIMIT 1"));
    assertThrows(JobArguments.RefusedJob.class,
        () -> JobArguments.check(List.of("--jdbcUrl=jdbc:postgresql://elsewhere/db"), null, true));
  }
}
