package io.pgembed.batch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.coders.IterableCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
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

  /** Rows as one bundle: one element flattened in one processElement call. */
  private PCollection<KV<String, String>> oneBundle(List<KV<String, String>> rows) {
    return p.apply(Create.of(List.of(rows)).withCoder(
            ListCoder.of(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))))
        .apply(Flatten.iterables());
  }

  /** The keying step's two outputs for {@code rows} in one bundle: whole groups as id lists, the rest as ids. */
  private void assertKeyingStep(List<KV<String, String>> rows, BatchMode mode, long limit, List<List<String>> whole,
      List<String> rest) {
    TupleTag<KV<Integer, Iterable<KV<String, String>>>> wholeTag = new TupleTag<>("whole");
    TupleTag<KV<Integer, KV<String, String>>> restTag = new TupleTag<>("rest");
    var element = KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of());
    PCollectionTuple out = oneBundle(rows).apply("Key", ParDo.of(new BatchTexts.ShardKeyFn<String>(1, 21, 256,
            TokenCounter.ESTIMATE, limit, mode == BatchMode.TOKENS ? new BatchTexts.TokenEstimate<>(256) : null,
            wholeTag, restTag))
        .withOutputTags(wholeTag, TupleTagList.of(restTag)));
    PCollection<List<String>> groups = out.get(wholeTag)
        .setCoder(KvCoder.of(VarIntCoder.of(), IterableCoder.of(element)))
        .apply("Group ids", MapElements.into(TypeDescriptors.lists(TypeDescriptors.strings())).via(g -> {
          List<String> ids = new ArrayList<>();
          g.getValue().forEach(kv -> ids.add(kv.getKey()));
          return ids;
        }));
    PAssert.that(groups).containsInAnyOrder(whole);
    PAssert.that(out.get(restTag).setCoder(KvCoder.of(VarIntCoder.of(), element))
        .apply("Rest ids", MapElements.into(TypeDescriptors.strings()).via(kv -> kv.getValue().getKey())))
        .containsInAnyOrder(rest);
    p.run();
  }

  private static List<String> ids(String prefix, int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  /** 300 short rows (s0..s299: bucket 0) and 20 long ones (l0..l19: bucket 16). */
  private static List<KV<String, String>> shortAndLong() {
    List<KV<String, String>> all = new ArrayList<>(rows("s", 300, 10));
    all.addAll(rows("l", 20, 500));
    return all;
  }

  @Test
  public void aBundleFormsItsWholeGroupsAndPassesOnlyTheRestThroughGroupIntoBatches() {
    assertKeyingStep(shortAndLong(), BatchMode.COUNT, 128, List.of(ids("s", 0, 128), ids("s", 128, 256)),
        concat(ids("s", 256, 300), ids("l", 0, 20)));
  }

  @Test
  public void aTokenBudgetClosesAGroupBeforeATextWouldTakeItOverAsGroupIntoBatchesDoes() {
    // Estimates 60, 60, 70, 60, 60 tokens (one bucket, 12): a budget of 128 closes [0, 1] before 70 and [2] before
    // the next 60; 3 and 4 (120) are left for GroupIntoBatches.
    List<KV<String, String>> all = new ArrayList<>();
    int[] tokens = {60, 60, 70, 60, 60};
    for (int i = 0; i < tokens.length; i++) {
      all.add(KV.of("t" + i, "x".repeat((tokens[i] - 2) * 4)));
    }
    assertKeyingStep(all, BatchMode.TOKENS, 128, List.of(List.of("t0", "t1"), List.of("t2")), List.of("t3", "t4"));
  }

  @Test
  public void groupsAreTheSameWhetherABundleFormedThemOrGroupIntoBatchesDid() {
    PCollection<KV<Integer, Iterable<KV<String, String>>>> groups =
        oneBundle(shortAndLong()).apply(new BatchTexts<>(BatchMode.COUNT, 128, 256, 1, true, BUFFERING));
    PAssert.that(describe(groups, 256)).containsInAnyOrder("bucket0:128", "bucket0:128", "bucket0:44", "bucket16:20");
    p.run();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
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
