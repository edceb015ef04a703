package io.pgembed.capture;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Pruning;
import io.pgembed.metrics.EmbeddingMetrics;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.beam.sdk.transforms.DoFn;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous mode's ticks with {@code --changeCapture=trigger}: of frequent ticks it passes one on when the log's
 * channel was notified since the last ({@link ChangeListener}), or when {@code fallbackMillis} (--pollInterval) have
 * passed; a passed tick reads the rows the log names. Before passing it, it prunes the log's deletes (the whole
 * target after a TRUNCATE) and removes the entries of the tick before whose rows are no longer pending: their
 * vectors are written. Entries that stay (rows in flight, or failed with attempts left) are settled again on the
 * ticks between, after 1 s, then 2 s, 4 s, ... (at most the fallback poll): the log empties once the last vector
 * is in, not at the next change. A failure is logged and tried again at the next tick; it never stops the embedding.
 *
 * <pre>{@code
 * ticks.apply("Wait for changes", ParDo.of(new DrainOnNotify(database, log, tables, "bigint", fp, 5000, true)));
 * }</pre>
 */
public final class DrainOnNotify extends DoFn<Instant, Instant> {
  private static final Logger LOG = LoggerFactory.getLogger(DrainOnNotify.class);
  private final Database database;
  private final ChangeLog log;
  private final EmbeddingTables tables;
  private final String idCastType;
  private final String fingerprint;
  private final long fallbackMillis;
  private final boolean prune;
  private transient ChangeListener listener;
  private transient long lastPassed;
  private transient long previousHead;
  private transient long unsettled;
  private transient long settleDelay;
  private transient long nextSettle;

  public DrainOnNotify(Database database, ChangeLog log, EmbeddingTables tables, String idCastType, String fingerprint,
      long fallbackMillis, boolean prune) {
    this.database = database;
    this.log = log;
    this.tables = tables;
    this.idCastType = idCastType;
    this.fingerprint = fingerprint;
    this.fallbackMillis = fallbackMillis;
    this.prune = prune;
  }

  @Setup
  public void setup() {
    listener = ChangeListener.of(database, log.channel());
  }

  @ProcessElement
  public void process(@Element Instant tick, OutputReceiver<Instant> out) {
    long now = System.currentTimeMillis();
    if (!listener.takeNotified() && now - lastPassed < fallbackMillis) {
      if (unsettled > 0 && now >= nextSettle) {
        settleBetweenTicks(now);
      }
      return;
    }
    lastPassed = now;
    try {
      LogDrain.Head h;
      try (Connection c = database.connect()) {
        h = LogDrain.head(c, log);
      }
      long head = h.seq();
      boolean truncated = h.truncated();
      if (prune && head > previousHead) {
        long vectors = new Pruning(tables, idCastType, truncated ? null : log.deletedIds(head)).pruneDeleted(database)[0];
        EmbeddingMetrics.ROWS_PRUNED.inc(vectors);
      }
      if (previousHead > 0) {
        new LogDrain(log, tables, previousHead, false, false).settle(database, fingerprint, false);
      }
      previousHead = head;
      unsettled = head;
      settleDelay = 1000;
      nextSettle = now + settleDelay;
    } catch (SQLException e) {
      LOG.warn("Draining the change log {} failed; it is tried again at the next tick: {}", log.log(), e.getMessage());
    }
    out.output(tick);
  }

  /** Settles the entries up to the last passed tick's head; while some stay, again after twice the wait. */
  private void settleBetweenTicks(long now) {
    try {
      long left = new LogDrain(log, tables, unsettled, false, false).settle(database, fingerprint, false);
      if (left == 0) {
        unsettled = 0;
        return;
      }
    } catch (SQLException e) {
      LOG.warn("Settling the change log {} failed; it is tried again: {}", log.log(), e.getMessage());
    }
    settleDelay = Math.min(settleDelay * 2, Math.max(fallbackMillis, 1000));
    nextSettle = now + settleDelay;
  }
}
