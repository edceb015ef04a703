package io.pgembed.pipeline;

/** The launcher's exit codes: a contract with the scripts and schedulers that run it. */
public enum ExitCode {
  /** Done: the run completed (or a continuous run was stopped as asked). */
  OK(0),
  /** The run failed; what was written stays. */
  FAILED(1),
  /** Bad input or options: the message names the option and the fix. */
  BAD_INPUT(2),
  /** Stopped at --timeout: rerun to finish the rows still pending. */
  PARTIAL(3),
  /**
   * The database could not be reached, or refused the connection (password, database name), before anything was
   * read: the message names the host and port. A scheduler may retry later; nothing was changed.
   */
  DATABASE_UNAVAILABLE(4),
  /** {@code promote} refused: the canary gate said no (its reasons printed and recorded); nothing was changed. */
  CANARY_REFUSED(5);

  private final int code;

  ExitCode(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
