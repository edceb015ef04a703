package io.pgembed.read;

import io.pgembed.db.RowKey;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;

/**
 * Continuous mode's in-flight filter alone, with no database: a row read again by a later poll while its vector is
 * in flight (same id, same content hash) is dropped; new content passes at once; the same content passes again
 * once the expiry has passed (its write may have failed).
 */
public class DropRowsInFlightTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static KV<RowKey, String> row(String id, String text) {
    byte[] sha = text.getBytes(StandardCharsets.UTF_8); // stands for the hash: equal text, equal bytes
    return KV.of(new RowKey(id, sha), text);
  }

  @Test
  public void aRowInFlightIsDroppedUntilItsContentChangesOrTheExpiryPasses() {
    Instant t0 = new Instant(0);
    TestStream<KV<RowKey, String>> polls =
        TestStream.create(ArtifactSource.CODER)
            .addElements(row("a", "first"), row("b", "other")) // poll 1
            .advanceProcessingTime(Duration.standardSeconds(5))
            .addElements(row("a", "first"), row("b", "other")) // poll 2: both still in flight
            .advanceProcessingTime(Duration.standardSeconds(5))
            .addElements(row("a", "edited")) // poll 3: a's text changed, so it passes at once
            .advanceProcessingTime(Duration.standardMinutes(10)) // past the expiry
            .addElements(row("a", "edited"), row("b", "other")) // poll 4: still pending after the expiry
            .advanceWatermarkToInfinity();
    PCollection<KV<RowKey, String>> passed =
        p.apply(polls).apply(new ContinuousSource.DropRowsInFlight(Duration.standardMinutes(5)));
    PAssert.that(passed).containsInAnyOrder(
        row("a", "first"), row("b", "other"), row("a", "edited"), row("a", "edited"), row("b", "other"));
    p.run();
  }
}
