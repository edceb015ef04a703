package io.pgembed.batch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.IterableCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.joda.time.Instant;

/**
 * Groups keyed texts for the model: keys each by (shard, length bucket) and groups with {@link GroupIntoBatches},
 * by count or by an estimated token budget ({@link BatchMode}), waiting at most {@code maxBuffering} for a group to
 * fill. Shards spread the work over the workers; length buckets put texts of similar length together so that
 * forward passes carry little padding. A NULL text is grouped like an empty one (the embed step skips it).
 *
 * <p>Buckets are by estimated tokens (about 4 characters a token, at most the model's limit), each 20% longer than
 * the one before from 8 tokens: with buckets doubling by characters, short texts of 10 to 30 tokens shared one bucket
 * and the pipeline's forward passes were a third padding (measured padding efficiency 0.63 on package descriptions).
 *
 * <p>Where one bundle holds a whole group's worth of texts of one key, the keying step forms that group itself and
 * only the rest of the bundle goes through {@link GroupIntoBatches}, text by text: a group is the same either way (at
 * most the limit, one key), but {@code GroupIntoBatches} keeps its state and timers per text, which on the DirectRunner
 * cost about 0.05 ms a text, as much as counting its tokens (measured on 10,000 short descriptions, 2 cores).
 *
 * <pre>{@code
 * texts.apply("Batch", new BatchTexts<>(BatchMode.COUNT, 32, 256, 4, true, Duration.standardSeconds(2)));
 * }</pre>
 */
public final class BatchTexts<K>
    extends PTransform<PCollection<KV<K, String>>, PCollection<KV<Integer, Iterable<KV<K, String>>>>> {
  /** The first bucket holds texts of up to this many estimated tokens; each next one 20% more. */
  static final int FIRST_BUCKET_TOKENS = 8;
  static final double BUCKET_GROWTH = 1.2;

  private final BatchMode mode;
  private final long limit;
  private final int maxTokensPerText;
  private final int shards;
  private final boolean lengthBuckets;
  private final Duration maxBuffering;
  private final TokenCounter counter;
  private final int buckets;

  /**
   * {@code limit}: rows per group ({@link BatchMode#COUNT}) or estimated tokens per group ({@link BatchMode#TOKENS},
   * each text counted at most {@code maxTokensPerText}).
   */
  public BatchTexts(
      BatchMode mode, long limit, int maxTokensPerText, int shards, boolean lengthBuckets, Duration maxBuffering) {
    this(mode, limit, maxTokensPerText, shards, lengthBuckets, maxBuffering, TokenCounter.ESTIMATE);
  }

  /** As above, with the length buckets chosen by {@code counter} (the model's tokenizer: exact token counts). */
  public BatchTexts(
      BatchMode mode, long limit, int maxTokensPerText, int shards, boolean lengthBuckets, Duration maxBuffering,
      TokenCounter counter) {
    if (limit < 1) {
      throw new IllegalArgumentException(
          (mode == BatchMode.TOKENS ? "maxBatchTokens" : "batchSize") + " must be > 0, but was " + limit);
    }
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be > 0, but was " + shards);
    }
    if (maxBuffering == null || maxBuffering.getMillis() < 1) {
      throw new IllegalArgumentException("maxBuffering must be > 0 ms, but was " + maxBuffering);
    }
    this.mode = Objects.requireNonNull(mode, "mode");
    this.limit = limit;
    this.maxTokensPerText = maxTokensPerText;
    this.shards = shards;
    this.lengthBuckets = lengthBuckets;
    this.maxBuffering = maxBuffering;
    this.counter = Objects.requireNonNull(counter, "counter");
    this.buckets = lengthBuckets ? bucket(null, maxTokensPerText, Integer.MAX_VALUE) + 1 : 1;
  }

  @Override
  public PCollection<KV<Integer, Iterable<KV<K, String>>>> expand(PCollection<KV<K, String>> texts) {
    Coder<KV<K, String>> element = texts.getCoder();
    KvCoder<Integer, Iterable<KV<K, String>>> groupCoder = KvCoder.of(VarIntCoder.of(), IterableCoder.of(element));
    TupleTag<KV<Integer, Iterable<KV<K, String>>>> whole = new TupleTag<>() {};
    TupleTag<KV<Integer, KV<K, String>>> rest = new TupleTag<>() {};
    TokenEstimate<K> weigher = mode == BatchMode.TOKENS ? new TokenEstimate<>(maxTokensPerText) : null;
    PCollectionTuple keyed =
        texts.apply("Key by shard and length",
            ParDo.of(new ShardKeyFn<K>(shards, buckets, maxTokensPerText, counter, limit, weigher, whole, rest))
                .withOutputTags(whole, TupleTagList.of(rest)));
    GroupIntoBatches<Integer, KV<K, String>> group =
        weigher != null
            ? GroupIntoBatches.<Integer, KV<K, String>>ofByteSize(limit, weigher)
            : GroupIntoBatches.<Integer, KV<K, String>>ofSize(limit);
    PCollection<KV<Integer, Iterable<KV<K, String>>>> grouped =
        keyed.get(rest).setCoder(KvCoder.of(VarIntCoder.of(), element))
            .apply("Group into batches", group.withMaxBufferingDuration(maxBuffering)).setCoder(groupCoder);
    PCollection<KV<Integer, Iterable<KV<K, String>>>> groups =
        PCollectionList.of(keyed.get(whole).setCoder(groupCoder)).and(grouped)
            .apply("Whole groups and batches", Flatten.pCollections()).setCoder(groupCoder);
    // A group leaves its key's worker: groups spread over all workers (on Flink, all slots), and each is a bundle of
    // its own, so its vectors are written when it is done rather than when the key's last group is.
    return groups.apply("Spread batches", Reshuffle.viaRandomKey()).setCoder(groupCoder);
  }

  /**
   * Keys each text by shard * buckets + its length bucket. Within a bundle it collects each key's texts (and window)
   * the way {@link GroupIntoBatches} would, and outputs a group to {@code whole} as soon as it is full; at the end of
   * the bundle the texts of groups not full go to {@code rest}, one by one, with their own timestamps and windows.
   */
  static final class ShardKeyFn<K> extends DoFn<KV<K, String>, KV<Integer, Iterable<KV<K, String>>>> {
    private final int shards;
    private final int buckets;
    private final int maxTokensPerText;
    private final TokenCounter counter;
    private final long limit;
    /** The weight of a text in a group of {@link BatchMode#TOKENS}; null: each text counts 1. */
    private final SerializableFunction<KV<K, String>, Long> weigher;
    private final TupleTag<KV<Integer, Iterable<KV<K, String>>>> whole;
    private final TupleTag<KV<Integer, KV<K, String>>> rest;
    private transient TokenCounter.Counting counting;
    private transient Map<KV<Integer, BoundedWindow>, Filling<K>> filling;

    ShardKeyFn(int shards, int buckets, int maxTokensPerText, TokenCounter counter, long limit,
        SerializableFunction<KV<K, String>, Long> weigher, TupleTag<KV<Integer, Iterable<KV<K, String>>>> whole,
        TupleTag<KV<Integer, KV<K, String>>> rest) {
      this.shards = shards;
      this.buckets = buckets;
      this.maxTokensPerText = maxTokensPerText;
      this.counter = counter;
      this.limit = limit;
      this.weigher = weigher;
      this.whole = whole;
      this.rest = rest;
    }

    /** One key's texts of this bundle in one window, in order, and their weight. */
    private static final class Filling<K> {
      final List<KV<K, String>> texts = new ArrayList<>();
      final List<Instant> timestamps = new ArrayList<>();
      long weight;
    }

    @Setup
    public void setup() {
      counting = buckets > 1 || counter.measures() ? counter.open() : null;
    }

    @StartBundle
    public void startBundle() {
      filling = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element KV<K, String> kv, @Timestamp Instant timestamp, BoundedWindow window,
        MultiOutputReceiver out) {
      int shard = Math.floorMod(Objects.hashCode(kv.getKey()), shards);
      long tokens = counting == null ? -1 : counting.count(kv.getValue());
      int bucket = buckets > 1 ? bucket(null, maxTokensPerText, tokens) : 0;
      int key = shard * buckets + bucket;
      Filling<K> f = filling.computeIfAbsent(KV.of(key, window), w -> new Filling<>());
      // GroupIntoBatches' own rule: a text that would take the group over the limit closes it first.
      long weight = weigher == null ? 1 : weigher.apply(kv);
      if (!f.texts.isEmpty() && f.weight + weight > limit) {
        out.get(whole).output(KV.of(key, take(f)));
      }
      f.texts.add(kv);
      f.timestamps.add(timestamp);
      f.weight += weight;
      if (f.weight >= limit) {
        out.get(whole).output(KV.of(key, take(f)));
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) {
      for (Map.Entry<KV<Integer, BoundedWindow>, Filling<K>> e : filling.entrySet()) {
        Filling<K> f = e.getValue();
        for (int i = 0; i < f.texts.size(); i++) {
          context.output(rest, KV.of(e.getKey().getKey(), f.texts.get(i)), f.timestamps.get(i), e.getKey().getValue());
        }
      }
      filling = null;
    }

    private static <K> List<KV<K, String>> take(Filling<K> f) {
      List<KV<K, String>> group = new ArrayList<>(f.texts);
      f.texts.clear();
      f.timestamps.clear();
      f.weight = 0;
      return group;
    }

    @Teardown
    public void teardown() {
      if (counting != null) {
        counting.close();
        counting = null;
      }
    }
  }

  /**
   * The length bucket of {@code text}: 0 for up to {@link #FIRST_BUCKET_TOKENS} estimated tokens, then one per 20%
   * more, up to the bucket of {@code maxTokensPerText}. With {@code tokens >= 0} the estimate is given instead.
   */
  static int bucket(String text, int maxTokensPerText, long tokens) {
    long t = Math.min(maxTokensPerText, tokens >= 0 ? tokens : estimate(text));
    return t <= FIRST_BUCKET_TOKENS
        ? 0
        : (int) Math.ceil(Math.log((double) t / FIRST_BUCKET_TOKENS) / Math.log(BUCKET_GROWTH) - 1e-9);
  }

  /** About one token per 4 characters, plus [CLS] and [SEP]. */
  static long estimate(String text) {
    return (text == null ? 0 : text.length()) / 4 + 2;
  }

  /** Tokens a text will cost: about one per 4 characters plus [CLS] and [SEP], at most the model's limit. */
  static final class TokenEstimate<K> implements SerializableFunction<KV<K, String>, Long> {
    private final int maxTokensPerText;

    TokenEstimate(int maxTokensPerText) {
      this.maxTokensPerText = maxTokensPerText;
    }

    @Override
    public Long apply(KV<K, String> kv) {
      return Math.min(maxTokensPerText, estimate(kv.getValue()));
    }
  }
}
