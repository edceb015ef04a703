package io.pgembed.jobs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.Database;
import io.pgembed.db.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/** The queue's semantics on a real PostgreSQL: exactly-once claims, retries, leases, cancel. */
public class JobQueueTest {

  private static JobQueue newQueue(String name) throws Exception {
    return new JobQueue(new Database(TestDatabase.newDatabase(name), null, null));
  }

  @Test
  public void concurrentClaimersTakeEveryJobExactlyOnce() throws Exception {
    JobQueue q = newQueue("claims");
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      ids.add(q.enqueue("q", List.of("--sourceTable=t" + i), 1));
    }
    q.enqueue("other", List.of("--sourceTable=x"), 1); // another queue is never touched
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<List<Long>>> claims = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      String worker = "w" + w;
      claims.add(pool.submit(() -> {
        List<Long> mine = new ArrayList<>();
        Optional<JobQueue.Claimed> c;
        while ((c = q.claim("q", worker, Duration.ofMinutes(1))).isPresent()) {
          mine.add(c.get().id());
        }
        return mine;
      }));
    }
    List<Long> all = new ArrayList<>();
    for (Future<List<Long>> f : claims) {
      all.addAll(f.get(60, TimeUnit.SECONDS));
    }
    pool.shutdown();
    Collections.sort(all);
    assertEquals(ids, all);
    assertEquals(Long.valueOf(1), q.countsByStatus("other").get("queued"));
    assertEquals(Long.valueOf(6), q.countsByStatus("q").get("running"));
  }

  @Test
  public void aFailedJobWaitsItsDelayAndFailsForGoodAfterItsAttempts() throws Exception {
    JobQueue q = newQueue("retries");
    long id = q.enqueue("q", List.of("--sourceTable=t"), 2);
    JobQueue.Claimed first = q.claim("q", "w", Duration.ofMinutes(1)).orElseThrow();
    assertEquals(1, first.attempts());
    assertEquals(List.of("--sourceTable=t"), first.args());
    assertEquals("queued", q.fail(id, "w", "boom 1", null, Duration.ofHours(1)));
    assertTrue("not before its retry delay", q.claim("q", "w", Duration.ofMinutes(1)).isEmpty());

    JobQueue q0 = q;
    long id2 = q0.enqueue("q2", List.of("--sourceTable=t"), 2);
    q0.claim("q2", "w", Duration.ofMinutes(1)).orElseThrow();
    assertEquals("queued", q0.fail(id2, "w", "boom 1", null, Duration.ZERO));
    JobQueue.Claimed again = q0.claim("q2", "w", Duration.ofMinutes(1)).orElseThrow();
    assertEquals(2, again.attempts());
    assertEquals("failed", q0.fail(id2, "w", "boom 2", null, Duration.ZERO));
    JobQueue.Job job = q0.recent(10).stream().filter(j -> j.id() == id2).findFirst().orElseThrow();
    assertEquals("failed", job.status());
    assertEquals(2, job.attempts());
    assertEquals("boom 2", job.error());
    assertTrue(job.finishedAt() != null);
  }

  @Test
  public void anExpiredLeaseIsReclaimedAndTheOldOwnerCannotFinishIt() throws Exception {
    JobQueue q = newQueue("leases");
    long id = q.enqueue("q", List.of("--sourceTable=t"), 3);
    q.claim("q", "dead-worker", Duration.ofMillis(1500)).orElseThrow();
    assertTrue("a live lease is not reclaimed", q.claim("q", "w2", Duration.ofMinutes(1)).isEmpty());
    // Wait, with a bound, for the lease to run out: each look is a claim.
    List<JobQueue.Claimed> reclaimed = new java.util.ArrayList<>();
    io.pgembed.Await.await("the expired lease to be reclaimed", 20, () -> {
      try {
        q.claim("q", "w2", Duration.ofMinutes(1)).ifPresent(reclaimed::add);
        return !reclaimed.isEmpty();
      } catch (java.sql.SQLException e) {
        throw new IllegalStateException(e);
      }
    });
    assertEquals(id, reclaimed.get(0).id());
    assertEquals(2, reclaimed.get(0).attempts());
    assertFalse("the dead worker's heartbeat is refused", q.heartbeat(id, "dead-worker", Duration.ofMinutes(1)));
    assertFalse("and so is its result", q.succeed(id, "dead-worker", "{}"));
    assertTrue(q.succeed(id, "w2", "{\"rows_embedded\": 1}"));
    assertEquals(Long.valueOf(1), q.countsByStatus("q").get("succeeded"));
  }

  @Test
  public void cancelledJobsAreNotClaimedAndPasswordsAreRefused() throws Exception {
    JobQueue q = newQueue("cancel");
    long id = q.enqueue("q", List.of("--sourceTable=t"), 1);
    assertTrue(q.cancel(id));
    assertFalse("cancel twice", q.cancel(id));
    assertTrue(q.claim("q", "w", Duration.ofMinutes(1)).isEmpty());
    try {
      q.enqueue("q", List.of("--sourceTable=t", "--password=hunter2"), 1);
      throw new AssertionError("a password parameter was accepted");
    } catch (IllegalArgumentException e) {
      assertFalse(e.getMessage().contains("hunter2"));
    }
  }
}
