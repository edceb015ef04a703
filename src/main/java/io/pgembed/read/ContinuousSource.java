package io.pgembed.read;

import io.pgembed.db.DataSourceFn;
import io.pgembed.db.Pruning;
import io.pgembed.db.Database;
import io.pgembed.db.RowKey;
import io.pgembed.metrics.EmbeddingMetrics;
import java.util.Arrays;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.PeriodicImpulse;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * The pending rows, again and again: a periodic impulse every {@code pollInterval} feeds a JdbcIO {@code readAll}
 * of the pending query, so new and edited rows are picked up while the pipeline runs. A row read again before its
 * vector is written (it is still in flight) would be embedded twice; a stateful step keyed by id remembers the
 * content hash it last passed on and drops the same content for {@code inFlightExpiry}, after which a row that is
 * still pending (its write failed, or it failed with attempts left) is passed on again.
 */
public final class ContinuousSource extends PTransform<PBegin, PCollection<KV<RowKey, String>>> {
  private final Database database;
  private final String query;
  private final Duration pollInterval;
  private final Duration inFlightExpiry;
  private final Duration pruneInterval;
  private final Pruning pruning;
  private final DoFn<Instant, Instant> tickFilter;

  /** Reads {@code query} (columns id, text, sha, read_at) every {@code pollInterval}. */
  public ContinuousSource(Database database, String query, Duration pollInterval, Duration inFlightExpiry) {
    this(database, query, pollInterval, inFlightExpiry, null, null, null);
  }

  private ContinuousSource(Database database, String query, Duration pollInterval, Duration inFlightExpiry,
      Duration pruneInterval, Pruning pruning, DoFn<Instant, Instant> tickFilter) {
    if (pollInterval.getMillis() < 100) {
      throw new IllegalArgumentException("pollInterval must be >= 100 ms, but was " + pollInterval.getMillis() + " ms");
    }
    this.database = database;
    this.query = query;
    this.pollInterval = pollInterval;
    this.inFlightExpiry = inFlightExpiry;
    this.pruneInterval = pruneInterval;
    this.pruning = pruning;
    this.tickFilter = tickFilter;
  }

  /**
   * Also removes the vectors and failure records of rows gone from the source ({@code pruning}) on a poll at most
   * every {@code interval}; null: never.
   */
  public ContinuousSource withPruning(Duration interval, Pruning pruning) {
    return new ContinuousSource(database, query, pollInterval, inFlightExpiry, interval, pruning, tickFilter);
  }

  /**
   * Passes only the ticks {@code filter} lets through to the read (and lets it act first): a change log's drain,
   * which reads when notified of changes.
   */
  public ContinuousSource withTickFilter(DoFn<Instant, Instant> filter) {
    return new ContinuousSource(database, query, pollInterval, inFlightExpiry, pruneInterval, pruning, filter);
  }

  @Override
  public PCollection<KV<RowKey, String>> expand(PBegin input) {
    PCollection<Instant> polls = input
        .apply("Poll", PeriodicImpulse.create().withInterval(pollInterval))
        .apply("Count polls", ParDo.of(new CountPollsFn()));
    if (tickFilter != null) {
      polls = polls.apply("Wait for changes", ParDo.of(tickFilter));
    }
    if (pruneInterval != null && pruning != null) {
      polls = polls.apply("Prune deleted rows", ParDo.of(new PruneFn(database, pruneInterval, pruning)));
    }
    return polls
        .apply(
            "Read pending rows",
            JdbcIO.<Instant, KV<RowKey, String>>readAll()
                .withDataSourceProviderFn(DataSourceFn.readOnly(database))
                .withQuery(query)
                .withParameterSetter(new NoParameters())
                .withRowMapper(new ArtifactSource.PendingRowMapper())
                .withFetchSize(ArtifactSource.FETCH_SIZE)
                .withOutputParallelization(false)
                .withCoder(ArtifactSource.CODER))
        .apply("Drop rows in flight", new DropRowsInFlight(inFlightExpiry))
        .apply("Count read", ParDo.of(new ArtifactSource.CountReadFn()))
        .setCoder(ArtifactSource.CODER);
  }

  /**
   * Drops a row whose id and content hash were passed on within {@code expiry}: it is still in flight. A row with
   * new content, or seen again after the expiry, passes.
   *
   * <pre>{@code
   * rows.apply("Drop rows in flight", new ContinuousSource.DropRowsInFlight(Duration.standardMinutes(5)));
   * }</pre>
   */
  public static final class DropRowsInFlight
      extends PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> {
    private final Duration expiry;

    public DropRowsInFlight(Duration expiry) {
      if (expiry == null || expiry.getMillis() < 1) {
        throw new IllegalArgumentException("expiry must be > 0 ms, but was " + expiry);
      }
      this.expiry = expiry;
    }

    @Override
    public PCollection<KV<RowKey, String>> expand(PCollection<KV<RowKey, String>> rows) {
      return rows
          .apply("Key by id", WithKeys.of(new IdOf()).withKeyType(TypeDescriptors.strings()))
          .setCoder(KvCoder.of(StringUtf8Coder.of(), ArtifactSource.CODER))
          .apply("First sighting", ParDo.of(new FirstSightingFn(expiry)))
          .setCoder(ArtifactSource.CODER);
    }
  }

  static final class CountPollsFn extends DoFn<Instant, Instant> {
    @ProcessElement
    public void process(@Element Instant tick, OutputReceiver<Instant> out) {
      EmbeddingMetrics.POLLS.inc();
      out.output(tick);
    }
  }

  /**
   * On a poll, at most every {@code interval}, prunes the rows gone from the source; the ticks pass on. A
   * failure is logged and tried again on the next poll: pruning never stops the embedding.
   */
  static final class PruneFn extends DoFn<Instant, Instant> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PruneFn.class);
    private final Database database;
    private final Duration interval;
    private final Pruning pruning;
    private transient long lastPruneMillis;

    PruneFn(Database database, Duration interval, Pruning pruning) {
      this.database = database;
      this.interval = interval;
      this.pruning = pruning;
    }

    @ProcessElement
    public void process(@Element Instant tick, OutputReceiver<Instant> out) {
      long now = System.currentTimeMillis();
      if (now - lastPruneMillis >= interval.getMillis()) {
        lastPruneMillis = now;
        try {
          long vectors = pruning.pruneDeleted(database)[0];
          EmbeddingMetrics.ROWS_PRUNED.inc(vectors);
          if (vectors > 0) {
            LOG.info("Removed {} vectors of rows no longer in the source", vectors);
          }
        } catch (java.sql.SQLException e) {
          LOG.warn("Pruning the vectors of deleted rows failed; it is tried again on a later poll: {}",
              e.getMessage());
        }
      }
      out.output(tick);
    }
  }

  static final class NoParameters implements JdbcIO.PreparedStatementSetter<Instant> {
    @Override
    public void setParameters(Instant tick, java.sql.PreparedStatement ps) {
      // The pending query takes no parameters: each tick reads whatever is pending now.
    }
  }

  static final class IdOf implements org.apache.beam.sdk.transforms.SerializableFunction<KV<RowKey, String>, String> {
    @Override
    public String apply(KV<RowKey, String> row) {
      return row.getKey().id();
    }
  }

  /** Passes a row on unless the same content of the same id was passed on within the expiry. */
  static final class FirstSightingFn extends DoFn<KV<String, KV<RowKey, String>>, KV<RowKey, String>> {
    private final Duration expiry;

    @StateId("sha")
    private final StateSpec<ValueState<byte[]>> shaSpec = StateSpecs.value(ByteArrayCoder.of());

    @TimerId("forget")
    private final TimerSpec forgetSpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

    FirstSightingFn(Duration expiry) {
      this.expiry = expiry;
    }

    @ProcessElement
    public void process(
        @Element KV<String, KV<RowKey, String>> row,
        @StateId("sha") ValueState<byte[]> sha,
        @TimerId("forget") Timer forget,
        OutputReceiver<KV<RowKey, String>> out) {
      byte[] sha256 = row.getValue().getKey().contentSha256();
      byte[] current = sha256 == null ? new byte[0] : sha256;
      byte[] seen = sha.read();
      if (seen != null && Arrays.equals(seen, current)) {
        EmbeddingMetrics.ROWS_IN_FLIGHT_SKIPPED.inc();
        return;
      }
      sha.write(current);
      forget.offset(expiry).setRelative();
      out.output(row.getValue());
    }

    @OnTimer("forget")
    public void onForget(@StateId("sha") ValueState<byte[]> sha) {
      sha.clear();
    }
  }
}
