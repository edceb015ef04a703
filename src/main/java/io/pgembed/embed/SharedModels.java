package io.pgembed.embed;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.model.ModelSpec;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded model per {@link ModelSpec} per JVM, shared by every DoFn instance (thread) that uses it: reference
 * counted, and closed {@link #KEEP_ALIVE_MS} after the last user tears down, so that native memory is freed. The
 * delay lets the next stage of the same job take the model over: on Flink in batch mode the stage that measures
 * texts with the tokenizer ends before the embed stage starts, and a task restarted after a failure starts anew.
 *
 * <pre>{@code
 * EmbeddingModel model = SharedModels.acquire(spec);   // @Setup
 * SharedModels.release(spec);                          // @Teardown
 * }</pre>
 */
public final class SharedModels {
  private static final Logger LOG = LoggerFactory.getLogger(SharedModels.class);
  private static final Map<ModelSpec, Entry> MODELS = new HashMap<>();
  /** How long an unused model stays loaded: {@code -Dpgembed.modelKeepAliveMs}, default 30 s; 0 closes at once. */
  static final long KEEP_ALIVE_MS = Long.getLong("pgembed.modelKeepAliveMs", 30_000);
  private static long loads;
  private static long loadsReported;

  private static final class Entry {
    final EmbeddingModel model;
    final Semaphore forwardPasses;
    int users;
    /** Counts the times users fell to 0: a delayed close applies only to the latest. */
    long idleGeneration;

    Entry(EmbeddingModel model, int workers) {
      this.model = model;
      this.forwardPasses = new Semaphore(workers, true);
    }
  }

  private SharedModels() {}

  public static synchronized EmbeddingModel acquire(ModelSpec spec) {
    Entry e = MODELS.get(spec);
    if (e == null) {
      e = new Entry(spec.load(), spec.workers());
      MODELS.put(spec, e);
      loads++;
      LOG.info("Loaded {} in JVM {} (classloader {})", e.model.fingerprint(), EmbeddingMetrics.jvmName(),
          SharedModels.class.getClassLoader());
    }
    e.users++;
    return e.model;
  }

  public static synchronized void release(ModelSpec spec) {
    Entry e = MODELS.get(spec);
    if (e == null) {
      return;
    }
    if (--e.users == 0) {
      long idle = ++e.idleGeneration;
      if (KEEP_ALIVE_MS <= 0) {
        closeIfIdle(spec, e, idle);
      } else {
        // The JDK's shared delayer: no thread of this (job) classloader outlives the model.
        CompletableFuture.runAsync(() -> closeIfIdle(spec, e, idle),
            CompletableFuture.delayedExecutor(KEEP_ALIVE_MS, TimeUnit.MILLISECONDS));
      }
    }
  }

  private static synchronized void closeIfIdle(ModelSpec spec, Entry e, long idle) {
    if (MODELS.get(spec) == e && e.users == 0 && e.idleGeneration == idle) {
      MODELS.remove(spec);
      e.model.close();
      LOG.info("Closed {}: unused since its last user tore down", e.model.fingerprint());
    }
  }

  /**
   * At most {@code --workers} forward passes run at once per JVM, whatever the runner's thread count: the thread
   * counts of libtorch were chosen for that many (cores / workers each), and more would oversubscribe the CPU.
   */
  public static Semaphore forwardPasses(ModelSpec spec) {
    synchronized (SharedModels.class) {
      Entry e = MODELS.get(spec);
      if (e == null) {
        throw new IllegalStateException("forwardPasses() before acquire()");
      }
      return e.forwardPasses;
    }
  }

  /** Models loaded in this JVM (this classloader) since the last call: each load is reported once, in a metric. */
  public static synchronized long takeUnreportedLoads() {
    long n = loads - loadsReported;
    loadsReported = loads;
    return n;
  }

  /** Users of the model for {@code spec} in this JVM (0 when not loaded). */
  public static synchronized int users(ModelSpec spec) {
    Entry e = MODELS.get(spec);
    return e == null ? 0 : e.users;
  }
}
