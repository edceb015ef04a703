package io.pgembed.embed;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.TokenHashModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.hamcrest.Matchers;
import org.junit.Rule;
import org.junit.Test;

/**
 * {@link EmbedTexts} in a TestPipeline with no database: a cheap deterministic test model
 * ({@link TokenHashModel}, the real tokenizer) and {@link InjectedFaults} for the failures, so every row's outcome is
 * exact: its vector, its failure and reason, or its deferral.
 */
public class EmbedTextsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final TokenHashModel MODEL = TokenHashModel.small();
  private static final KvCoder<String, String> CODER =
      KvCoder.of(StringUtf8Coder.of(), NullableCoder.of(StringUtf8Coder.of()));

  /** 40 texts of 1 to 40 words. */
  private static List<KV<String, String>> texts(int n) {
    List<KV<String, String>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(KV.of("t" + i, ("word" + i + " ").repeat(i % 40 + 1) + "end"));
    }
    return out;
  }

  private PCollection<KV<String, String>> input(List<KV<String, String>> rows) {
    return p.apply(Create.of(rows).withCoder(CODER));
  }

  /** (key, vector as text): float[] has no value equality. */
  private static PCollection<KV<String, String>> printed(PCollection<KV<String, float[]>> vectors) {
    return vectors.apply("Print vectors", MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
        .via(kv -> KV.of(kv.getKey(), Arrays.toString(kv.getValue()))));
  }

  private static PCollection<KV<String, String>> reasons(PCollection<KV<String, EmbeddingFailure>> failed) {
    return failed.apply("Reasons", MapElements.into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
        .via(kv -> KV.of(kv.getKey(), kv.getValue().errorClass() + (kv.getValue().retryable() ? " retry" : " final"))));
  }

  private static List<KV<String, String>> expectedVectors(List<KV<String, String>> rows) {
    List<KV<String, String>> out = new ArrayList<>();
    for (KV<String, String> r : rows) {
      out.add(KV.of(r.getKey(), Arrays.toString(MODEL.vectorOf(r.getValue()))));
    }
    return out;
  }

  @Test
  public void everyTextGetsItsOwnVectorUnderItsKeyWhateverItsGroup() {
    List<KV<String, String>> rows = texts(40);
    EmbedTexts.Result<String> r =
        input(rows).apply(EmbedTexts.<String>using(MODEL).withBatchSize(8).withMaxBatchTokens(64).withShards(2));
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(rows));
    PAssert.that(r.failed()).empty();
    PAssert.that(r.deferred()).empty();
    EmbeddingMetrics.Snapshot m = EmbeddingMetrics.snapshot(p.run());
    assertEquals(40, m.rowsEmbedded());
    // Two shards x length buckets: at most 8 rows a group, and the 64-token cap splits groups into more passes.
    assertThat(m.groups(), Matchers.greaterThanOrEqualTo(5L));
    assertThat(m.forwardPasses(), Matchers.greaterThan(m.groups()));
    assertEquals(0, m.groupSplits());
  }

  @Test
  public void aPoisonTextFailsAloneAndItsGroupIsHalvedDownToIt() {
    List<KV<String, String>> rows = texts(16);
    rows.set(11, KV.of("t11", "POISON " + rows.get(11).getValue()));
    EmbedTexts.Result<String> r = input(rows).apply(
        EmbedTexts.<String>using(InjectedFaults.of(MODEL).failOnTextMatching("^POISON"))
            .withBatchSize(16).withLengthBuckets(false).withShards(1));
    List<KV<String, String>> healthy = new ArrayList<>(rows);
    healthy.remove(11);
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(healthy));
    PAssert.that(reasons(r.failed()))
        .containsInAnyOrder(KV.of("t11", InjectedFaults.InjectedFailure.class.getName() + " retry"));
    EmbeddingMetrics.Snapshot m = EmbeddingMetrics.snapshot(p.run());
    assertEquals(1, m.groups());
    assertEquals("16 -> 8 -> 4 -> 2 -> 1: four halvings", 4, m.groupSplits());
    assertEquals(1, m.rowsFailed());
    assertEquals(15, m.rowsEmbedded());
  }

  @Test
  public void aTextTooLongForTheEngineFailsAloneWithTheEnginesError() {
    List<KV<String, String>> rows = new ArrayList<>(texts(6));
    rows.add(KV.of("long", "token ".repeat(200)));
    // More than 150 token slots in one forward pass fails, as an engine out of memory would.
    EmbedTexts.Result<String> r = input(rows).apply(
        EmbedTexts.<String>using(InjectedFaults.of(MODEL).failAboveTokens(150))
            .withBatchSize(8).withMaxBatchTokens(0).withLengthBuckets(false).withShards(1));
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(texts(6)));
    PAssert.that(reasons(r.failed())).containsInAnyOrder(KV.of("long", "ai.djl.engine.EngineException retry"));
    p.run();
  }

  @Test
  public void aBatchThatExhaustsTheHeapIsHalvedAndARowThatCannotFitAloneFailsWithTheReason() {
    List<KV<String, String>> rows = new ArrayList<>(texts(16));
    rows.add(KV.of("long", "token ".repeat(200)));
    // More than 150 token slots in one forward pass throws OutOfMemoryError (an Error, not an Exception).
    EmbedTexts.Result<String> r = input(rows).apply(
        EmbedTexts.<String>using(InjectedFaults.of(MODEL).outOfHeapAboveTokens(150))
            .withBatchSize(32).withMaxBatchTokens(0).withLengthBuckets(false).withShards(1)
            .withMaxBuffering(org.joda.time.Duration.standardMinutes(1)));
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(texts(16)));
    PAssert.that(reasons(r.failed())).containsInAnyOrder(KV.of("long", "java.lang.OutOfMemoryError retry"));
    PAssert.that(r.failed().apply("Messages", MapElements.into(TypeDescriptors.strings())
        .via(kv -> kv.getValue().message()))).containsInAnyOrder(
            "injected: Java heap space for a forward pass of 202 token slots, above 150");
    EmbeddingMetrics.Snapshot m = EmbeddingMetrics.snapshot(p.run());
    assertEquals(16, m.rowsEmbedded());
    assertEquals(1, m.rowsFailed());
    // 17 rows in one group: halved until every part fits (the long row alone, at the bottom, still fails).
    assertTrue("splits: " + m.groupSplits(), m.groupSplits() >= 2);
  }

  @Test
  public void nullAndBlankTextsAreSkippedWithTheirReasonsAndNeverRetried() {
    List<KV<String, String>> rows = new ArrayList<>(texts(3));
    rows.add(KV.of("null", null));
    rows.add(KV.of("empty", ""));
    rows.add(KV.of("spaces", " \t\n "));
    EmbedTexts.Result<String> r = input(rows).apply(EmbedTexts.<String>using(MODEL).withShards(1));
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(texts(3)));
    PAssert.that(reasons(r.failed())).containsInAnyOrder(
        KV.of("null", EmbeddingFailure.SKIPPED_NULL + " final"),
        KV.of("empty", EmbeddingFailure.SKIPPED_BLANK + " final"),
        KV.of("spaces", EmbeddingFailure.SKIPPED_BLANK + " final"));
    EmbeddingMetrics.Snapshot m = EmbeddingMetrics.snapshot(p.run());
    assertEquals(3, m.rowsSkipped());
    assertEquals(3, m.rowsEmbedded());
  }

  @Test
  public void textsThatReachTheModelAfterTheDeadlineAreDeferredNotEmbedded() {
    List<KV<String, String>> rows = texts(10);
    // A deadline already past: every group arrives after it.
    EmbedTexts.Result<String> r = input(rows).apply(EmbedTexts.<String>using(MODEL).withDeadline(1));
    PAssert.that(r.embedded()).empty();
    PAssert.that(r.failed()).empty();
    PAssert.that(r.deferred()).containsInAnyOrder(rows);
    EmbeddingMetrics.Snapshot m = EmbeddingMetrics.snapshot(p.run());
    assertEquals(10, m.rowsDeferred());
    assertEquals(0, m.rowsEmbedded());
  }

  @Test
  public void aDeadlineStillAheadDefersNothing() {
    List<KV<String, String>> rows = texts(10);
    EmbedTexts.Result<String> r = input(rows)
        .apply(EmbedTexts.<String>using(MODEL).withDeadline(System.currentTimeMillis() + 600_000));
    PAssert.that(printed(r.embedded())).containsInAnyOrder(expectedVectors(rows));
    PAssert.that(r.deferred()).empty();
    p.run();
  }

  @Test
  public void badSettingsAreRefusedWithTheParameterNamed() {
    assertEquals("batchSize must be > 0, but was 0",
        org.junit.Assert.assertThrows(IllegalArgumentException.class,
            () -> EmbedTexts.<String>using(MODEL).withBatchSize(0)).getMessage());
    assertEquals("maxBatchTokens must be >= 0 (0: no cap), but was -1",
        org.junit.Assert.assertThrows(IllegalArgumentException.class,
            () -> EmbedTexts.<String>using(MODEL).withMaxBatchTokens(-1)).getMessage());
    p.enableAbandonedNodeEnforcement(false);
  }
}
