package io.pgembed.pipeline;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Set;
import java.util.concurrent.Callable;
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
  private static final Set<String> STATES = Set.of(
      "57P01", // admin_shutdown: the server is stopping
      "57P02", // crash_shutdown
      "57P03", // cannot_connect_now: the server is starting
      "53300", // too_many_connections
      "40001", // serialization_failure
      "40P01"); // deadlock_detected

  private TransientFailures() {}

  /** A step of the run: a wave, or its planning. */
  interface Step<T> {
    T run() throws Exception;
  }

  /** Whether {@code e} (or a cause) is a lost or refused connection, or another failure worth a retry. */
  static boolean isTransient(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLTransientConnectionException) {
        return true;
      }
      if (t instanceof SQLException s && s.getSQLState() != null
          && (s.getSQLState().startsWith("08") || STATES.contains(s.getSQLState()))) {
        return true;
      }
    }
    return false;
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
        if (attempt >= TRIES || !isTransient(e) || giveUp.getAsBoolean()) {
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
