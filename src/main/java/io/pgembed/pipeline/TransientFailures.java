package io.pgembed.pipeline;

import io.pgembed.db.SqlStates;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A wave (or its planning) that failed because the database went away (a restart, a failover, a dropped
 * connection, a server at its connection ceiling) is tried again with backoff: 1, 2, 4, 8 and 16 s, on top of the
 * pool's own 30 s wait for a connection. Nothing is lost meanwhile: what the wave wrote stays, and its rows not yet
 * written are still pending, so the retry reads only those, with the same read time (a failure written again
 * counts no second attempt). Any other failure ends the run at once.
 */
final class TransientFailures {
  private static final Logger LOG = LoggerFactory.getLogger(TransientFailures.class);
  /** Tries of one step in all: the first and four retries. */
  static final int TRIES = 5;

  private TransientFailures() {}

  /** A step of the run: a wave, or its planning. */
  interface Step<T> {
    T run() throws Exception;
  }

  /**
   * Runs {@code step}; a transient failure is retried after a backoff unless {@code giveUp} says to stop (a
   * deadline, a stop request). The last failure is thrown as it was.
   */
  static <T> T withRetries(String what, Step<T> step, BooleanSupplier giveUp) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return step.run();
      } catch (Exception e) {
        if (attempt >= TRIES || !SqlStates.transientFailure(e) || giveUp.getAsBoolean()) {
          throw e;
        }
        long backoffMs = 1000L << (attempt - 1);
        LOG.warn("{} failed on the database connection ({}); what was written stays. Trying again in {} s ({} of"
            + " {} tries)", what, RunController.rootMessage(e), backoffMs / 1000, attempt + 1, TRIES);
        Thread.sleep(backoffMs); // the backoff itself, before the next try
      }
    }
  }
}
