package io.pgembed.read;

import io.pgembed.pipeline.EmbeddingPlan;
import java.util.Arrays;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
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
public final class ContinuousSource extends PTransform<PBegin, PCollection<Artifact>> {
  private final EmbeddingPlan plan;
  private final Duration pollInterval;
  private final Duration inFlightExpiry;

  public ContinuousSource(EmbeddingPlan plan, Duration pollInterval, Duration inFlightExpiry) {
    if (pollInterval.getMillis() < 100) {
      throw new IllegalArgumentException("pollInterval must be >= 100 ms, but was " + pollInterval.getMillis() + " ms");
    }
    this.plan = plan;
    this.pollInterval = pollInterval;
    this.inFlightExpiry = inFlightExpiry;
  }

  @Override
  public PCollection<Artifact> expand(PBegin input) {
    return input
        .apply("Poll", PeriodicImpulse.create().withInterval(pollInterval))
        .apply("Count polls", ParDo.of(new CountPollsFn()))
        .apply(
            "Read pending rows",
            JdbcIO.<Instant, Artifact>readAll()
                .withDataSourceProviderFn(new ArtifactSource.DataSourceFn(plan.database()))
                .withQuery(plan.pendingQuery())
                .withParameterSetter(new NoParameters())
                .withRowMapper(new ArtifactSource.ArtifactRowMapper())
                .withFetchSize(1000)
                .withOutputParallelization(false)
                .withCoder(Artifact.Coder.of()))
        .apply("Key by id", WithKeys.of(new IdOf()).withKeyType(TypeDescriptors.strings()))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Artifact.Coder.of()))
        .apply("Drop rows in flight", ParDo.of(new FirstSightingFn(inFlightExpiry)))
        .setCoder(Artifact.Coder.of())
        .apply("Count read", ParDo.of(new ArtifactSource.CountFn()))
        .setCoder(Artifact.Coder.of());
  }

  static final class CountPollsFn extends DoFn<Instant, Instant> {
    private static final Counter POLLS = Metrics.counter(ArtifactSource.NAMESPACE, "polls");

    @ProcessElement
    public void process(@Element Instant tick, OutputReceiver<Instant> out) {
      POLLS.inc();
      out.output(tick);
    }
  }

  static final class NoParameters implements JdbcIO.PreparedStatementSetter<Instant> {
    @Override
    public void setParameters(Instant tick, java.sql.PreparedStatement ps) {
      // The pending query takes no parameters: each tick reads whatever is pending now.
    }
  }

  static final class IdOf implements org.apache.beam.sdk.transforms.SerializableFunction<Artifact, String> {
    @Override
    public String apply(Artifact a) {
      return a.id();
    }
  }

  /** Passes a row on unless the same content of the same id was passed on within the expiry. */
  static final class FirstSightingFn extends DoFn<KV<String, Artifact>, Artifact> {
    private static final Counter SUPPRESSED = Metrics.counter(ArtifactSource.NAMESPACE, "rows_in_flight_skipped");
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
        @Element KV<String, Artifact> row,
        @StateId("sha") ValueState<byte[]> sha,
        @TimerId("forget") Timer forget,
        OutputReceiver<Artifact> out) {
      byte[] current = row.getValue().contentSha256() == null ? new byte[0] : row.getValue().contentSha256();
      byte[] seen = sha.read();
      if (seen != null && Arrays.equals(seen, current)) {
        SUPPRESSED.inc();
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
