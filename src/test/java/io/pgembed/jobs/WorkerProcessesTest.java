package io.pgembed.jobs;

import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.Await.await;
import static io.pgembed.jobs.JobWorkerTest.job;
import static io.pgembed.jobs.JobWorkerTest.status;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.MainProcess;
import io.pgembed.db.Database;
import io.pgembed.db.TestDatabase;
import io.pgembed.db.WriteGate;
import io.pgembed.model.TestModels;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Workers as separate JVMs, started (and one killed) by the test: jobs run exactly once, a dead worker's job is reclaimed. */
public class WorkerProcessesTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private Process startWorker(String db, String queue, String name, String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("worker", "--jdbcUrl=" + db, "--queue=" + queue, "--device=cpu",
        "--port=0", "--pollMs=200", "--retryDelayMs=200"));
    args.addAll(List.of(extra));
    return MainProcess.start(name, "2g", args);
  }

  private static void table(String db, String name, int rows) throws Exception {
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE " + name + " (id bigint PRIMARY KEY, content text)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + name + " VALUES (?, ?)")) {
        for (int i = 0; i < rows; i++) {
          ps.setLong(1, i);
          ps.setString(2, corpus.get(i % corpus.size()).text() + " #" + i);
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  }


  @Test
  public void twoWorkerJvmsRunSixJobsExactlyOnce() throws Exception {
    String db = TestDatabase.newDatabase("two");
    JobQueue q = new JobQueue(new Database(db, null, null));
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      table(db, "t" + i, 40);
      ids.add(q.enqueue("q", List.of("--sourceTable=t" + i, "--device=cpu"), 1));
    }
    Process a = startWorker(db, "q", "a", "--exitWhenIdle");
    Process b = startWorker(db, "q", "b", "--exitWhenIdle");
    try {
      assertTrue("worker a exits when the queue is idle", a.waitFor(5, TimeUnit.MINUTES));
      assertTrue("worker b exits when the queue is idle", b.waitFor(5, TimeUnit.MINUTES));
    } finally {
      a.destroyForcibly();
      b.destroyForcibly();
    }
    assertEquals(0, a.exitValue());
    assertEquals(0, b.exitValue());
    Set<String> workers = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      JobQueue.Job j = job(q, ids.get(i));
      assertEquals("job " + j.id(), "succeeded", j.status());
      assertEquals("job " + j.id() + " ran once", 1, j.attempts());
      assertTrue(j.startedAt() != null && j.finishedAt() != null && !j.finishedAt().before(j.startedAt()));
      workers.add(j.worker());
      assertEquals(40, count(db, "SELECT count(*) FROM t" + i + "_embeddings"));
    }
    assertTrue("jobs were recorded under the workers' pid@host names: " + workers,
        workers.stream().allMatch(w -> w.matches("\\d+@.+")));
  }

  @Test
  public void aKilledWorkersJobIsReclaimedAfterItsLeaseAndFinishedWithoutDuplicates() throws Exception {
    String db = TestDatabase.newDatabase("killed");
    JobQueue q = new JobQueue(new Database(db, null, null));
    table(db, "big", 1500);
    // The job's writes are held once 200 vectors are in: it is killed midway on any machine, not in a race.
    WriteGate gate = WriteGate.closedAfter(db, "big", 384, 200);
    long id = q.enqueue("k", List.of("--sourceTable=big", "--device=cpu", "--batchSize=8", "--writeBatchSize=8"), 3);
    Process doomed = startWorker(db, "k", "doomed", "--leaseMs=3000");
    Process rescuer = null;
    try {
      await("the first worker to run the job", 120, status(q, id, "running", 1));
      String firstOwner = job(q, id).worker();
      assertTrue(firstOwner.startsWith(doomed.pid() + "@"));
      gate.awaitHeld(240);
      doomed.destroyForcibly(); // only the process this test started
      assertTrue(doomed.waitFor(30, TimeUnit.SECONDS));
      gate.open();
      long before = count(db, "SELECT count(*) FROM big_embeddings");
      long writtenByDoomed = count(db, "SELECT count(*) FROM big_embeddings");
      String lastFirstWrite = io.pgembed.PipelineTestSupport.firstValue(db, "SELECT max(embedded_at)::text FROM big_embeddings");
      assertTrue("killed mid-job: " + before, before >= 193 && before < 1500);

      rescuer = startWorker(db, "k", "rescuer", "--leaseMs=3000", "--exitWhenIdle");
      assertTrue("the rescuer finishes", rescuer.waitFor(5, TimeUnit.MINUTES));
      JobQueue.Job j = job(q, id);
      assertEquals("succeeded", j.status());
      assertEquals(2, j.attempts());
      assertNotEquals(firstOwner, j.worker());
      assertTrue(j.worker().startsWith(rescuer.pid() + "@"));
      assertEquals(1500, count(db, "SELECT count(*) FROM big_embeddings"));
      assertEquals("the killed worker's rows were not written again", writtenByDoomed,
          count(db, "SELECT count(*) FROM big_embeddings WHERE embedded_at <= '" + lastFirstWrite + "'"));
      assertTrue("the rescuer embedded only what was left: " + j.metrics(),
          j.metrics().contains("\"rows_embedded\": " + (1500 - before) + ","));
    } finally {
      gate.close();
      doomed.destroyForcibly();
      if (rescuer != null) {
        rescuer.destroyForcibly();
      }
    }
  }
}
