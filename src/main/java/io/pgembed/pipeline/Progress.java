package io.pgembed.pipeline;

import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.metrics.EmbeddingMetrics.Snapshot;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.beam.sdk.PipelineResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** --verbose: a progress line every 5 s (done/total, rate, ETA), over finished waves and the running pipeline. */
final class Progress implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Progress.class);
  private final ScheduledExecutorService timer;

  private Progress(ScheduledExecutorService timer) {
    this.timer = timer;
  }

  static Progress start(
      boolean verbose, long total, long startNanos, Supplier<Snapshot> finished,
      AtomicReference<PipelineResult> running) {
    return start(verbose, total, startNanos, finished, running, () -> "");
  }

  /** As above; each line ends with {@code more} (with a change log: its depth). */
  static Progress start(
      boolean verbose, long total, long startNanos, Supplier<Snapshot> finished,
      AtomicReference<PipelineResult> running, Supplier<String> more) {
    if (!verbose) {
      return new Progress(null);
    }
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "progress");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleAtFixedRate(() -> {
      try {
        PipelineResult r = running.get();
        EmbeddingMetrics.Snapshot now = r == null ? finished.get() : finished.get().plus(EmbeddingMetrics.snapshot(r));
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        if (now.chunks() > 0) {
          // With chunking the rows are documents; their chunks are what is embedded.
          System.out.printf("progress: %d/%d documents chunked, %d of their %d chunks done, %.1f chunks/s%s%n",
              now.documents(), total, now.rowsDone(), now.chunks(), now.rowsDone() / Math.max(seconds, 1e-9),
              more.get());
          return;
        }
        long done = now.rowsDone();
        double rate = done / Math.max(seconds, 1e-9);
        String eta = rate > 0 && total > done ? String.format("%.0f s", (total - done) / rate) : "-";
        System.out.printf("progress: %d/%d rows, %.1f rows/s, ETA %s%s%n", done, total, rate, eta, more.get());
      } catch (RuntimeException e) {
        LOG.debug("no progress metrics yet: {}", e.toString());
      }
    }, 5, 5, TimeUnit.SECONDS);
    return new Progress(timer);
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
