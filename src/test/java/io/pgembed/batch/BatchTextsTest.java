package io.pgembed.batch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;
import org.junit.Rule;
import org.junit.Test;

/** {@link BatchTexts} alone: group sizes, token budgets and length buckets, exactly. */
public class BatchTextsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final Duration BUFFERING = Duration.standardSeconds(30);

  private PCollection<KV<String, String>> input(List<KV<String, String>> rows) {
    return p.apply(Create.of(rows).withCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())));
  }

  private static List<KV<String, String>> rows(String prefix, int n, int chars) {
    List<KV<String, String>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(KV.of(prefix + i, "x".repeat(chars)));
    }
    return out;
  }

  /** Each group as "bucket:size" (or "mixed:size" when its texts fall in different buckets). */
  private static PCollection<String> describe(
      PCollection<KV<Integer, Iterable<KV<String, String>>>> groups, int maxTokens) {
    return groups.apply(MapElements.into(TypeDescriptors.strings()).via(g -> {
      Set<Integer> buckets = new HashSet<>();
      int n = 0;
      for (KV<String, String> kv : g.getValue()) {
        buckets.add(BatchTexts.bucket(kv.getValue(), maxTokens, -1));
        n++;
      }
      return (buckets.size() == 1 ? "bucket" + buckets.iterator().next() : "mixed") + ":" + n;
    }));
  }

  @Test
  public void groupsHoldAtMostBatchSizeRowsAndNeverMixLengthBuckets() {
    List<KV<String, String>> all = new ArrayList<>(rows("short", 10, 10)); // 4 estimated tokens: bucket 0
    all.addAll(rows("long", 10, 500)); // 127 tokens: bucket 16 (up to 8 x 1.2^16 = 148)
    PCollection<KV<Integer, Iterable<KV<String, String>>>> groups =
        input(all).apply(new BatchTexts<>(BatchMode.COUNT, 8, 256, 1, true, BUFFERING));
    PAssert.that(describe(groups, 256)).containsInAnyOrder("bucket0:8", "bucket0:2", "bucket16:8", "bucket16:2");
    p.run();
  }

  @Test
  public void withoutLengthBucketsOneShardFillsGroupsRegardlessOfLength() {
    List<KV<String, String>> all = new ArrayList<>(rows("short", 10, 10));
    all.addAll(rows("long", 10, 500));
    PCollection<KV<Integer, Iterable<KV<String, String>>>> groups =
        input(all).apply(new BatchTexts<>(BatchMode.COUNT, 8, 256, 1, false, BUFFERING));
    PAssert.that(groups.apply(MapElements.into(TypeDescriptors.integers()).via(g -> {
      int n = 0;
      for (KV<String, String> ignored : g.getValue()) {
        n++;
      }
      return n;
    }))).containsInAnyOrder(8, 8, 4);
    p.run();
  }

  @Test
  public void tokenBudgetsCountEachTextAtMostTheModelsLimit() {
    // 400 characters estimate 102 tokens, capped at 64 by the model's limit (bucket 12): a budget of 256 holds 4.
    PCollection<KV<Integer, Iterable<KV<String, String>>>> groups =
        input(rows("t", 10, 400)).apply(new BatchTexts<>(BatchMode.TOKENS, 256, 64, 1, true, BUFFERING));
    PAssert.that(describe(groups, 64)).containsInAnyOrder("bucket12:4", "bucket12:4", "bucket12:2");
    p.run();
  }

  @Test
  public void lengthBucketsGrowBy20PercentOfEstimatedTokensUpToTheModelsLimit() {
    assertEquals(0, BatchTexts.bucket(null, 256, -1));
    assertEquals(0, BatchTexts.bucket(null, 256, 8));
    assertEquals(1, BatchTexts.bucket(null, 256, 9)); // (8, 9.6]
    assertEquals(2, BatchTexts.bucket(null, 256, 10)); // (9.6, 11.52]
    assertEquals(2, BatchTexts.bucket(null, 256, 11));
    assertEquals(3, BatchTexts.bucket(null, 256, 12));
    assertEquals(0, BatchTexts.bucket("x".repeat(24), 256, -1)); // 24 / 4 + 2 = 8 tokens
    assertEquals(16, BatchTexts.bucket("x".repeat(500), 256, -1));
    assertEquals(20, BatchTexts.bucket("x".repeat(100_000), 256, -1)); // capped at 256 tokens
    assertEquals(20, BatchTexts.bucket(null, 256, 256));
    p.enableAbandonedNodeEnforcement(false);
  }

  @Test
  public void badSettingsAreRefusedWithTheParameterNamed() {
    IllegalArgumentException e = org.junit.Assert.assertThrows(IllegalArgumentException.class,
        () -> new BatchTexts<String>(BatchMode.TOKENS, 0, 64, 1, true, BUFFERING));
    assertEquals("maxBatchTokens must be > 0, but was 0", e.getMessage());
    assertTrue(BatchMode.parse("Tokens") == BatchMode.TOKENS);
    assertEquals("--batchMode must be 'count' or 'tokens', but was 'bytes'",
        org.junit.Assert.assertThrows(IllegalArgumentException.class, () -> BatchMode.parse("bytes")).getMessage());
    p.enableAbandonedNodeEnforcement(false);
  }
}
