package io.pgembed.pipeline;

import io.pgembed.db.KeyRange;
import io.pgembed.options.EmbeddingPipelineOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.apache.beam.runners.direct.DirectRunner;

/**
 * A run in waves: each wave is one pipeline over the next pending rows in id order, at most
 * {@code --maxInFlightRows} of them, written before the next wave is read. So the rows read but not yet written stay
 * under that bound whatever the table's size, vectors reach the table wave by wave, and a crash or a timeout leaves
 * every finished wave written and the rest pending. Keyset bounds (ids after the last wave's last id) visit each row
 * once per run, so a row that fails with attempts left is not retried within the run. The model stays loaded
 * between waves: the run holds it from its preflight to its end.
 *
 * <p>The first wave is small ({@value #FIRST_WAVE} rows), so the first vectors reach the table within seconds; later
 * waves are sized to take about {@value #TARGET_WAVE_MS} ms at the rate measured so far.
 */
final class Waves {
  static final int FIRST_WAVE = 256;
  static final long TARGET_WAVE_MS = 30_000;

  /**
   * One wave: its id range, its pending rows when it was planned, numeric id bounds for partitioned reads, and the
   * read time its rows carry (microseconds since the epoch; 0: each read's own), the same if the wave is tried again.
   */
  record Wave(KeyRange range, long rows, Long minId, Long maxId, long readAtMicros) {}

  private Waves() {}

  /** Waves on the DirectRunner for a batch run with a bound; Flink bounds memory itself (backpressure). */
  static boolean apply(EmbeddingPipelineOptions o) {
    return !o.getContinuous() && o.getMaxInFlightRows() > 0 && DirectRunner.class.equals(o.getRunner());
  }

  /** Everything pending, as one wave. */
  static Wave all(Preflight.Checked checked) {
    return new Wave(KeyRange.ALL, checked.pending(), checked.minId(), checked.maxId(), 0);
  }

  /** The next wave after id {@code after} (null: from the start) of at most {@code limit} rows; null when none. */
  static Wave next(Preflight.Checked checked, String after, int limit) throws SQLException {
    String idType = checked.layout().idCastType();
    try (Connection c = checked.database().connectReadOnly();
        PreparedStatement ps =
            c.prepareStatement(checked.tables().nextWaveQuery(checked.fingerprint(), idType, after == null))) {
      int i = 1;
      if (after != null) {
        ps.setString(i++, after);
      }
      ps.setInt(i, limit);
      try (ResultSet rs = ps.executeQuery()) {
        long rows = 0;
        String first = null;
        String last = null;
        while (rs.next()) {
          last = rs.getString(1);
          first = first == null ? last : first;
          rows++;
        }
        if (rows == 0) {
          return null;
        }
        boolean numeric = checked.layout().numericId();
        return new Wave(new KeyRange(after, last), rows,
            numeric ? Long.valueOf(first) : null, numeric ? Long.valueOf(last) : null,
            System.currentTimeMillis() * 1000);
      }
    }
  }

  /**
   * The next wave's size: about {@link #TARGET_WAVE_MS} at the rate measured so far, within [first wave, bound]. The
   * first wave's wall time is mostly the JVM's and the runner's warm-up, so after it the rate is the model's own
   * ({@code rows / modelBusyMs}); after later waves it is rows over wall time. A wave that would leave fewer than a
   * quarter of itself pending takes those rows too (within the bound), so no run ends on a wave of a few rows.
   *
   * @param remaining rows still pending after the wave just finished (an estimate: rows may be added meanwhile)
   */
  static int nextSize(int bound, Wave finished, boolean first, long wallNanos, long modelBusyMs, long remaining) {
    double ms = first && modelBusyMs > 0 ? modelBusyMs : Math.max(1.0, wallNanos / 1e6);
    long size = Math.round(finished.rows() / ms * TARGET_WAVE_MS);
    size = Math.min(bound, Math.max(Math.min(FIRST_WAVE, bound), size));
    if (remaining - size < size / 4) {
      size = Math.min(bound, Math.max(size, remaining));
    }
    return (int) size;
  }
}
