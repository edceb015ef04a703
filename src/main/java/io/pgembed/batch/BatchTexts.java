package io.pgembed.batch;

import java.util.Objects;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.IterableCoder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.GroupIntoBatches;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Groups keyed texts for the model: keys each by (shard, length bucket) and groups with {@link GroupIntoBatches},
 * by count or by an estimated token budget ({@link BatchMode}), waiting at most {@code maxBuffering} for a group to
 * fill. Shards spread the work over the workers; length buckets put texts of similar length together so that
 * forward passes carry little padding. A NULL text is grouped like an empty one (the embed step skips it).
 *
 * <pre>{@code
 * texts.apply("Batch", new BatchTexts<>(BatchMode.COUNT, 32, 256, 4, true, Duration.standardSeconds(2)));
 * }</pre>
 */
public final class BatchTexts<K>
    extends PTransform<PCollection<KV<K, String>>, PCollection<KV<Integer, Iterable<KV<K, String>>>>> {
  /** Buckets by characters, doubling from 32: < 32, < 64, ..., < 2048, longer. */
  static final int BUCKETS = 8;

  private final BatchMode mode;
  private final long limit;
  private final int maxTokensPerText;
  private final int shards;
  private final boolean lengthBuckets;
  private final Duration maxBuffering;

  /**
   * {@code limit}: rows per group ({@link BatchMode#COUNT}) or estimated tokens per group ({@link BatchMode#TOKENS},
   * each text counted at most {@code maxTokensPerText}).
   */
  public BatchTexts(
      BatchMode mode, long limit, int maxTokensPerText, int shards, boolean lengthBuckets, Duration maxBuffering) {
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
  }

  @Override
  public PCollection<KV<Integer, Iterable<KV<K, String>>>> expand(PCollection<KV<K, String>> texts) {
    Coder<KV<K, String>> element = texts.getCoder();
    PCollection<KV<Integer, KV<K, String>>> keyed =
        texts.apply("Key by shard and length", WithKeys.of(new ShardKey<K>(shards, lengthBuckets))
                .withKeyType(TypeDescriptors.integers()))
            .setCoder(KvCoder.of(VarIntCoder.of(), element));
    GroupIntoBatches<Integer, KV<K, String>> group =
        mode == BatchMode.TOKENS
            ? GroupIntoBatches.<Integer, KV<K, String>>ofByteSize(limit, new TokenEstimate<K>(maxTokensPerText))
            : GroupIntoBatches.<Integer, KV<K, String>>ofSize(limit);
    KvCoder<Integer, Iterable<KV<K, String>>> groupCoder = KvCoder.of(VarIntCoder.of(), IterableCoder.of(element));
    PCollection<KV<Integer, Iterable<KV<K, String>>>> grouped =
        keyed.apply("Group into batches", group.withMaxBufferingDuration(maxBuffering)).setCoder(groupCoder);
    // A group leaves its key's worker: groups spread over all workers (on Flink, all slots), and each is a bundle of
    // its own, so its vectors are written when it is done rather than when the key's last group is.
    return grouped.apply("Spread batches", Reshuffle.viaRandomKey()).setCoder(groupCoder);
  }

  /** shard * BUCKETS + bucket. */
  static final class ShardKey<K> implements SerializableFunction<KV<K, String>, Integer> {
    private final int shards;
    private final boolean lengthBuckets;

    ShardKey(int shards, boolean lengthBuckets) {
      this.shards = shards;
      this.lengthBuckets = lengthBuckets;
    }

    @Override
    public Integer apply(KV<K, String> kv) {
      int shard = Math.floorMod(Objects.hashCode(kv.getKey()), shards);
      return shard * BUCKETS + (lengthBuckets ? bucket(kv.getValue()) : 0);
    }
  }

  static int bucket(String text) {
    int n = text == null ? 0 : text.length();
    int bucket = 0;
    for (int limit = 32; bucket < BUCKETS - 1 && n >= limit; limit *= 2) {
      bucket++;
    }
    return bucket;
  }

  /** Tokens a text will cost: about one per 4 characters plus [CLS] and [SEP], at most the model's limit. */
  static final class TokenEstimate<K> implements SerializableFunction<KV<K, String>, Long> {
    private final int maxTokensPerText;

    TokenEstimate(int maxTokensPerText) {
      this.maxTokensPerText = maxTokensPerText;
    }

    @Override
    public Long apply(KV<K, String> kv) {
      long chars = kv.getValue() == null ? 0 : kv.getValue().length();
      return Math.min(maxTokensPerText, chars / 4 + 2);
    }
  }
}
