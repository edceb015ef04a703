package io.pgembed.pipeline;

import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.metrics.EmbeddingMetrics.Snapshot;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.flink.FlinkDetachedRunnerResult;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the job to its {@link RunStatus}: starts it (in {@link Waves} on the DirectRunner), prints progress with
 * --verbose, stops it at --timeout, on a signal (continuous mode) or when a stop is requested (a cancelled queue job),
 * and reports (after {@link AfterRun} settles the run). How the runners differ in ending a run lives here; {@link
 * Waves} decides where a run goes in waves and {@link Preflight} where the model is checked. At the deadline the embed step stops embedding (later groups stay
 * pending) and what was embedded drains into the target; only if that takes longer than {@link #CANCEL_GRACE_MS}
 * is the run cancelled.
 *
 * <pre>{@code
 * RunReport report = RunController.execute(checked, options, () -> false, (wave, deadline) -> pipelineFor(wave));
 * }</pre>
 */
public final class RunController {
  private static final Logger LOG = LoggerFactory.getLogger(RunController.class);
  /** After --timeout, groups already running may finish and drain; past this grace the run is cancelled. */
  static final long CANCEL_GRACE_MS = 60_000;

  /** Builds the pipeline of one wave; {@code deadlineMillis} is the run's (0: none), the same for every wave. */
  public interface WaveBuilder {
    Pipeline build(Waves.Wave wave, long deadlineMillis);
  }

  private RunController() {}

  /** Starts a built pipeline without waiting for it: stop it with {@code cancel()}. */
  public static PipelineResult start(Pipeline pipeline) {
    // On the DirectRunner this returns at once; Flink's batch runs return when the job has ended.
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    return pipeline.run();
  }

  /** Runs the job: in waves where {@link Waves#apply} says so, else as one pipeline. */
  public static RunReport execute(
      Preflight.Checked checked, EmbeddingPipelineOptions o, BooleanSupplier stopRequested, WaveBuilder build)
      throws IOException {
    long deadline = o.getTimeout() > 0 ? System.currentTimeMillis() + o.getTimeout() : 0;
    if (!Waves.apply(o)) {
      return execute(build.build(Waves.all(checked), deadline), checked, o, stopRequested);
    }
    long start = System.nanoTime();
    AtomicReference<Snapshot> done = new AtomicReference<>(Snapshot.EMPTY);
    AtomicReference<PipelineResult> current = new AtomicReference<>();
    RunStatus status = RunStatus.COMPLETE;
    String error = null;
    int waves = 0;
    long largest = 0;
    try (Progress progress =
        Progress.start(o.getVerbose(), checked.pending(), start, done::get, current, logDepth(checked))) {
      String after = null;
      int size = Math.min(Waves.FIRST_WAVE, o.getMaxInFlightRows());
      for (int n = 1; ; n++) {
        if (stopRequested.getAsBoolean()) {
          status = RunStatus.CANCELLED;
          break;
        }
        if (deadline > 0 && System.currentTimeMillis() >= deadline) {
          LOG.warn("--timeout={} ms: no further wave; written rows stay, the rest stays pending", o.getTimeout());
          status = RunStatus.PARTIAL;
          break;
        }
        BooleanSupplier giveUp = () -> stopRequested.getAsBoolean()
            || (deadline > 0 && System.currentTimeMillis() >= deadline);
        String from = after;
        int limit = size;
        Waves.Wave wave = TransientFailures.withRetries(
            "planning wave " + n, () -> Waves.next(checked, from, limit), giveUp);
        if (wave == null) {
          break;
        }
        long t0 = System.nanoTime();
        waves = n;
        largest = Math.max(largest, wave.rows());
        AtomicReference<PipelineResult> ran = new AtomicReference<>();
        RunStatus waveStatus = TransientFailures.withRetries("wave " + n, () -> {
          ran.set(start(build.build(wave, deadline)));
          current.set(ran.get());
          return waitForEnd(ran.get(), false, deadline == 0 ? 0 : deadline + CANCEL_GRACE_MS, stopRequested);
        }, giveUp);
        PipelineResult result = ran.get();
        Snapshot metrics = EmbeddingMetrics.snapshot(result);
        done.updateAndGet(d -> d.plus(metrics));
        current.set(null);
        LOG.info("wave {}: {} rows pending in ids ({}, {}], {}, {} ms", n, wave.rows(), wave.range().after(),
            wave.range().upTo(), waveStatus, (System.nanoTime() - t0) / 1_000_000);
        if (waveStatus != RunStatus.COMPLETE) {
          status = waveStatus;
          break;
        }
        after = wave.range().upTo();
        size = Waves.nextSize(o.getMaxInFlightRows(), wave, n == 1, System.nanoTime() - t0,
            metrics.modelBusyMicros() / 1000, checked.pending() - done.get().rowsRead());
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.error("The run failed: {}", rootMessage(e), e);
      status = RunStatus.FAILED;
      error = rootMessage(e);
    }
    return report(status, error, done.get(), checked, o, start, waves, largest);
  }

  /** Runs one built pipeline (all of the job, or a test's) and returns (prints, and writes) its report. */
  public static RunReport execute(
      Pipeline pipeline, Preflight.Checked checked, RunOptions o, BooleanSupplier stopRequested) throws IOException {
    long start = System.nanoTime();
    PipelineResult result;
    try {
      result = start(pipeline);
    } catch (RuntimeException e) {
      LOG.error("The pipeline failed: {}", rootMessage(e), e);
      return report(RunStatus.FAILED, rootMessage(e), Snapshot.EMPTY, checked, o, start, 0, 0);
    }
    if (o.getContinuous()) {
      // A continuous run ends by --timeout or by a signal: stop the pipeline, then report.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> cancel(result)));
    }
    long wait = o.getContinuous() ? o.getTimeout() : o.getTimeout() + CANCEL_GRACE_MS;
    long deadline = o.getTimeout() > 0 ? System.currentTimeMillis() + wait : 0;
    AtomicReference<PipelineResult> current = new AtomicReference<>(result);
    try (Progress progress = Progress.start(
        o.getVerbose(), checked.pending(), start, () -> Snapshot.EMPTY, current, logDepth(checked))) {
      RunStatus status = waitForEnd(result, o.getContinuous(), deadline, stopRequested);
      Snapshot metrics = EmbeddingMetrics.snapshot(result);
      return report(status, null, metrics, checked, o, start, 1, metrics.rowsRead());
    } catch (RuntimeException e) {
      LOG.error("The pipeline failed: {}", rootMessage(e), e);
      Snapshot metrics = EmbeddingMetrics.snapshot(result);
      return report(RunStatus.FAILED, rootMessage(e), metrics, checked, o, start, 1, metrics.rowsRead());
    }
  }

  /** Waits for the end, {@code deadlineMillis} (0: none) or a stop request, and says how the pipeline ended. */
  private static RunStatus waitForEnd(
      PipelineResult result, boolean continuous, long deadlineMillis, BooleanSupplier stopRequested)
      throws IOException {
    long deadline = deadlineMillis > 0 ? deadlineMillis : Long.MAX_VALUE;
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
      if (continuous) {
        LOG.info("--timeout: stopping the continuous run; written rows stay");
        return RunStatus.STOPPED;
      }
      LOG.warn("--timeout: the run did not drain in time, cancelled; written rows stay");
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

  /** Settles the run in the database ({@link AfterRun}), then reports it: prints it and writes the report file. */
  private static RunReport report(
      RunStatus status, String error, Snapshot metrics, Preflight.Checked checked, RunOptions o, long start,
      int waves, long largestWave) throws IOException {
    double wall = (System.nanoTime() - start) / 1e9;
    AfterRun.Outcome after = AfterRun.settle(checked, status, error);
    RunReport report = RunReport.of(
        after.status(), checked.fingerprint(), wall, checked.pending(), checked.pruned(), metrics, after.stillPending(),
        waves, largestWave, after.error(), after.index(), after.changeLog());
    System.out.print(report.format());
    if (o.getReportFile() != null) {
      report.writeJson(Path.of(o.getReportFile()));
    }
    return report;
  }

  /** For --verbose progress lines: the change log's depth (--changeCapture=trigger), else nothing. */
  private static java.util.function.Supplier<String> logDepth(Preflight.Checked checked) {
    if (checked.drain() == null) {
      return () -> "";
    }
    return () -> {
      try {
        var d = checked.drain().depth(checked.database());
        return String.format("; change log %d queued, the oldest %.1f s old", d.entries(), d.oldestSeconds());
      } catch (java.sql.SQLException e) {
        return "; change log depth unknown (" + e.getMessage() + ")";
      }
    };
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }
}
