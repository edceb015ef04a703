package io.pgembed.db;

import java.sql.SQLException;
import java.util.Optional;

/**
 * A failure to connect (SQLState class 08: refused, unreachable, reset; 28: authentication; 3D000: no such
 * database), said in one line that names the host, port and database and what to check, never the password. It
 * keeps the driver's SQLState and exception as its cause. {@code Database.connect()} throws it; the launcher prints
 * its message alone and exits with {@code ExitCode.DATABASE_UNAVAILABLE}.
 */
public final class DatabaseUnavailableException extends SQLException {
  DatabaseUnavailableException(String message, SQLException cause) {
    super(message, cause.getSQLState(), cause);
  }

  /** {@code error} as a connection failure to {@code where} ({@code host:port/db}) as {@code user}, when it is one. */
  static Optional<DatabaseUnavailableException> of(SQLException error, String where, String user) {
    String state = error.getSQLState();
    if (state == null) {
      return Optional.empty();
    }
    String reason = firstLine(error) + " (SQLState " + state + ")";
    String message;
    boolean noPassword = state.equals("08004") && String.valueOf(error.getMessage()).contains("password");
    if (state.startsWith("08") && !noPassword) {
      message = "cannot connect to PostgreSQL at " + where + ": " + reason + ". Check --jdbcUrl's host and port,"
          + " and that the server is running and accepts TCP connections from here (listen_addresses,"
          + " pg_hba.conf, a firewall).";
    } else if (state.startsWith("28") || noPassword) {
      message = "PostgreSQL at " + where + " refused the login of user " + user + ": " + reason
          + ". Check --username and the password source (--passwordFile, PGPASSWORD or ~/.pgpass), and"
          + " pg_hba.conf's method for this host.";
    } else if (state.equals("3D000")) {
      message = "PostgreSQL at " + where + " has no such database: " + reason
          + ". Check the database name in --jdbcUrl.";
    } else {
      return Optional.empty();
    }
    return Optional.of(new DatabaseUnavailableException(message, error));
  }

  /** The first {@link DatabaseUnavailableException} in {@code error}'s causes. */
  public static Optional<DatabaseUnavailableException> in(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof DatabaseUnavailableException d) {
        return Optional.of(d);
      }
    }
    return Optional.empty();
  }

  private static String firstLine(SQLException e) {
    String m = String.valueOf(e.getMessage()).strip();
    int nl = m.indexOf('\n');
    m = nl < 0 ? m : m.substring(0, nl);
    return m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
  }
}
