package io.pgembed.pipeline;

import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.options.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.flink.FlinkDetachedRunnerResult;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a built pipeline to its {@link RunStatus}: starts it, prints progress with --verbose, stops it at --timeout,
 * on a signal (continuous mode) or when a stop is requested (a cancelled queue job), and reports. Every runner
 * quirk lives here. At the deadline the embed step stops embedding (later groups stay pending) and what was
 * embedded drains into the target; only if that takes longer than {@link #CANCEL_GRACE_MS} is the run cancelled.
 *
 * <pre>{@code
 * RunReport report = RunController.execute(pipeline, checked, options, () -> false);
 * }</pre>
 */
public final class RunController {
  private static final Logger LOG = LoggerFactory.getLogger(RunController.class);
  /** After --timeout, groups already running may finish and drain; past this grace the run is cancelled. */
  static final long CANCEL_GRACE_MS = 60_000;

  private RunController() {}

  /** Starts a built pipeline without waiting for it: stop it with {@code cancel()}. */
  public static PipelineResult start(Pipeline pipeline) {
    // On the DirectRunner this returns at once; Flink's batch runs return when the job has ended.
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    return pipeline.run();
  }

  /** Runs {@code pipeline} and returns (and prints, and with --reportFile writes) its report. */
  public static RunReport execute(
      Pipeline pipeline, Preflight.Checked checked, RunOptions o, BooleanSupplier stopRequested) throws IOException {
    long start = System.nanoTime();
    PipelineResult result;
    try {
      result = start(pipeline);
    } catch (RuntimeException e) {
      LOG.error("The pipeline failed: {}", rootMessage(e), e);
      return report(RunStatus.FAILED, rootMessage(e), null, checked, o, start);
    }
    if (o.getContinuous()) {
      // A continuous run ends by --timeout or by a signal: stop the pipeline, then report.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> cancel(result)));
    }
    ScheduledExecutorService progress = o.getVerbose() ? progress(result, checked.pending(), start) : null;
    try {
      return report(waitForEnd(result, o, stopRequested), null, result, checked, o, start);
    } catch (RuntimeException e) {
      LOG.error("The pipeline failed: {}", rootMessage(e), e);
      return report(RunStatus.FAILED, rootMessage(e), result, checked, o, start);
    } finally {
      if (progress != null) {
        progress.shutdownNow();
      }
    }
  }

  private static RunStatus waitForEnd(PipelineResult result, RunOptions o, BooleanSupplier stopRequested)
      throws IOException {
    long wait = o.getContinuous() ? o.getTimeout() : o.getTimeout() + CANCEL_GRACE_MS;
    long deadline = o.getTimeout() > 0 ? System.currentTimeMillis() + wait : Long.MAX_VALUE;
    PipelineResult.State state = null;
    boolean stop = false;
    // Wait in steps of a second, so that a stop request (a cancelled job) is noticed.
    for (long left; (left = deadline - System.currentTimeMillis()) > 0; ) {
      state = waitStep(result, Math.min(1000, left));
      if ((state != null && state.isTerminal()) || (stop = stopRequested.getAsBoolean())) {
        break;
      }
    }
    boolean ended = state != null && state.isTerminal();
    if (stop && !ended) {
      LOG.warn("Stop requested: cancelling the run; written rows stay, the rest stays pending");
      result.cancel();
      return RunStatus.CANCELLED;
    }
    if (!ended) {
      result.cancel();
      if (o.getContinuous()) {
        LOG.info("--timeout={} ms: stopping the continuous run; written rows stay", o.getTimeout());
        return RunStatus.STOPPED;
      }
      LOG.warn("--timeout={} ms: the run did not drain in time, cancelled; written rows stay", o.getTimeout());
      return RunStatus.PARTIAL;
    }
    if (state != PipelineResult.State.DONE) {
      return RunStatus.FAILED;
    }
    return EmbeddingMetrics.snapshot(result).rowsDeferred() > 0 ? RunStatus.PARTIAL : RunStatus.COMPLETE;
  }

  /**
   * Waits up to {@code millis} for the run to end. A detached Flink run (continuous mode) is polled for its state:
   * its waitUntilFinish sleeps in steps of --jobCheckIntervalInSecs and warns at every short wait.
   */
  private static PipelineResult.State waitStep(PipelineResult result, long millis) {
    if (result instanceof FlinkDetachedRunnerResult) {
      PipelineResult.State state = result.getState();
      if (!state.isTerminal()) {
        try {
          Thread.sleep(millis); // the step between two looks at the job's state
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return state;
    }
    return result.waitUntilFinish(Duration.millis(millis));
  }

  private static void cancel(PipelineResult result) {
    try {
      result.cancel();
    } catch (IOException | RuntimeException e) {
      LOG.warn("Could not cancel the continuous run: {}", e.toString());
    }
  }

  private static RunReport report(
      RunStatus status, String error, PipelineResult result, Preflight.Checked checked, RunOptions o, long start)
      throws IOException {
    double wall = (System.nanoTime() - start) / 1e9;
    long stillPending;
    try {
      stillPending = checked.countPending();
    } catch (SQLException e) {
      LOG.warn("Could not count the rows still pending: {}", e.getMessage());
      stillPending = -1;
    }
    RunReport report = RunReport.of(status, checked.fingerprint(), wall, checked.pending(),
        result == null ? EmbeddingMetrics.Snapshot.EMPTY : EmbeddingMetrics.snapshot(result), stillPending, error);
    System.out.print(report.format());
    if (o.getReportFile() != null) {
      report.writeJson(Path.of(o.getReportFile()));
    }
    return report;
  }

  private static ScheduledExecutorService progress(PipelineResult result, long total, long start) {
    ScheduledExecutorService progress = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "progress");
      t.setDaemon(true);
      return t;
    });
    progress.scheduleAtFixedRate(() -> {
      try {
        long done = EmbeddingMetrics.snapshot(result).rowsDone();
        double seconds = (System.nanoTime() - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        String eta = rate > 0 && total > done ? String.format("%.0f s", (total - done) / rate) : "-";
        System.out.printf("progress: %d/%d rows, %.1f rows/s, ETA %s%n", done, total, rate, eta);
      } catch (RuntimeException e) {
        LOG.debug("no progress metrics yet: {}", e.toString());
      }
    }, 5, 5, TimeUnit.SECONDS);
    return progress;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
