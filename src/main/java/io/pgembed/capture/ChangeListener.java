package io.pgembed.capture;

import io.pgembed.db.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code LISTEN} per JVM, database and channel: a daemon thread on a connection of its own (outside the pool)
 * that waits with pgjdbc's {@code getNotifications(timeout)} and raises a flag at each notification; the drain
 * takes the flag ({@link #takeNotified}). A lost connection is opened again after a second, and the flag raised, so
 * that a change made meanwhile is not missed (the fallback poll would find it too).
 */
final class ChangeListener {
  private static final Logger LOG = LoggerFactory.getLogger(ChangeListener.class);
  private static final Map<String, ChangeListener> LISTENERS = new ConcurrentHashMap<>();

  private final AtomicBoolean notified = new AtomicBoolean(true);

  private ChangeListener(Database database, String channel) {
    Thread t = new Thread(() -> listen(database, channel), "listen-" + channel);
    t.setDaemon(true);
    t.start();
  }

  /** This JVM's listener on {@code channel} of {@code database}, started at the first call. */
  static ChangeListener of(Database database, String channel) {
    return LISTENERS.computeIfAbsent(database + "|" + channel, k -> new ChangeListener(database, channel));
  }

  /** Whether a notification came since the last call. */
  boolean takeNotified() {
    return notified.getAndSet(false);
  }

  private void listen(Database database, String channel) {
    while (true) {
      try (Connection c = database.connectUnpooled();
          Statement s = c.createStatement()) {
        s.execute("LISTEN \"" + channel.replace("\"", "\"\"") + "\"");
        PGConnection pg = c.unwrap(PGConnection.class);
        while (true) {
          PGNotification[] ns = pg.getNotifications(10_000);
          if (ns != null && ns.length > 0) {
            notified.set(true);
          }
        }
      } catch (SQLException e) {
        LOG.warn("LISTEN {} lost its connection ({}); listening again in 1 s", channel, e.getMessage());
        notified.set(true);
        try {
          TimeUnit.SECONDS.sleep(1); // the pause before a reconnect
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }
}
