package io.pgembed.db;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Set;

/**
 * Which database errors mean "try again": the one place that reads SQLStates for retries. A conflict (a deadlock
 * victim, a serialization failure) is retried by the write that lost it; a lost or refused connection by the wave
 * that was running.
 */
public final class SqlStates {
  private static final Set<String> CONFLICTS = Set.of(
      "40001", // serialization_failure
      "40P01"); // deadlock_detected
  private static final Set<String> SERVER_GONE = Set.of(
      "57P01", // admin_shutdown: the server is stopping
      "57P02", // crash_shutdown
      "57P03", // cannot_connect_now: the server is starting
      "53300"); // too_many_connections

  private SqlStates() {}

  /** {@code e}, or an exception chained to it with getNextException, lost a deadlock or a serialization check. */
  public static boolean conflict(SQLException e) {
    for (SQLException s = e; s != null; s = s.getNextException()) {
      if (s.getSQLState() != null && CONFLICTS.contains(s.getSQLState())) {
        return true;
      }
    }
    return false;
  }

  /** {@code e} or a cause is a lost, refused or timed-out connection, or a conflict. */
  public static boolean transientFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLTransientConnectionException) {
        return true;
      }
      if (t instanceof SQLException s && (conflict(s) || (s.getSQLState() != null
          && (s.getSQLState().startsWith("08") || SERVER_GONE.contains(s.getSQLState()))))) {
        return true;
      }
    }
    return false;
  }
}
