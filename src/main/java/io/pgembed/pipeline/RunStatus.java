package io.pgembed.pipeline;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * How a run ended, with what it means to the launcher ({@link #exitCode()}) and to the job queue
 * ({@link #queueOutcome()}): the one place these are decided.
 */
public enum RunStatus {
  /** Every pending row was embedded, skipped or failed. */
  COMPLETE(ExitCode.OK, QueueOutcome.SUCCEEDED),
  /** A continuous run stopped at --timeout or on a signal, as asked. */
  STOPPED(ExitCode.OK, QueueOutcome.SUCCEEDED),
  /** Stopped at --timeout with rows still pending: written rows stay; a rerun (or retry) finishes. */
  PARTIAL(ExitCode.PARTIAL, QueueOutcome.RETRY),
  /** The pipeline failed. */
  FAILED(ExitCode.FAILED, QueueOutcome.RETRY),
  /** Stopped because its queue job was cancelled or reclaimed: the job is no longer this worker's to record. */
  CANCELLED(ExitCode.FAILED, QueueOutcome.NOT_OURS);

  /** What a queue worker does with a job whose run ended so. */
  public enum QueueOutcome {
    /** Record the job as succeeded. */
    SUCCEEDED,
    /** Record a failed attempt: queued again after the retry delay, until its attempts are spent. */
    RETRY,
    /** Record nothing: the job was cancelled or another worker holds it. */
    NOT_OURS
  }

  private final ExitCode exitCode;
  private final QueueOutcome queueOutcome;

  RunStatus(ExitCode exitCode, QueueOutcome queueOutcome) {
    this.exitCode = exitCode;
    this.queueOutcome = queueOutcome;
  }

  public ExitCode exitCode() {
    return exitCode;
  }

  public QueueOutcome queueOutcome() {
    return queueOutcome;
  }

  /** {@code complete}, {@code partial}, ...: as the report and its JSON write it. */
  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
