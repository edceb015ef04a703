package io.pgembed.batch;

import io.pgembed.read.Artifact;
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
 * Keys each row by (shard, length bucket) and groups it into batches with {@link GroupIntoBatches}: by count
 * ({@link #bySize}) or by an estimated token budget ({@link #byTokens}), waiting at most {@code maxBuffering} for
 * a batch to fill. Shards spread the work over the workers; length buckets put texts of similar length together so
 * that batches carry little padding.
 *
 * <pre>{@code
 * rows.apply("Batch", BatchArtifacts.bySize(32, 4, true, Duration.standardSeconds(2)));
 * }</pre>
 */
public final class BatchArtifacts
    extends PTransform<PCollection<Artifact>, PCollection<KV<Integer, Iterable<Artifact>>>> {
  /** Buckets by characters, doubling from 32: < 32, < 64, ..., < 2048, longer. */
  static final int BUCKETS = 8;

  private final long limit;
  private final boolean byTokens;
  private final int maxTokensPerText;
  private final int shards;
  private final boolean lengthBuckets;
  private final Duration maxBuffering;

  private BatchArtifacts(
      long limit, boolean byTokens, int maxTokensPerText, int shards, boolean lengthBuckets, Duration maxBuffering) {
    if (limit < 1) {
      throw new IllegalArgumentException((byTokens ? "maxBatchTokens" : "batchSize") + " must be > 0, but was " + limit);
    }
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be > 0, but was " + shards);
    }
    this.limit = limit;
    this.byTokens = byTokens;
    this.maxTokensPerText = maxTokensPerText;
    this.shards = shards;
    this.lengthBuckets = lengthBuckets;
    this.maxBuffering = maxBuffering;
  }

  public static BatchArtifacts bySize(int batchSize, int shards, boolean lengthBuckets, Duration maxBuffering) {
    return new BatchArtifacts(batchSize, false, 0, shards, lengthBuckets, maxBuffering);
  }

  /** Batches of at most {@code maxBatchTokens} estimated tokens (about 4 characters a token, capped per text). */
  public static BatchArtifacts byTokens(
      int maxBatchTokens, int maxTokensPerText, int shards, boolean lengthBuckets, Duration maxBuffering) {
    return new BatchArtifacts(maxBatchTokens, true, maxTokensPerText, shards, lengthBuckets, maxBuffering);
  }

  @Override
  public PCollection<KV<Integer, Iterable<Artifact>>> expand(PCollection<Artifact> rows) {
    PCollection<KV<Integer, Artifact>> keyed =
        rows.apply("Key by shard and length", WithKeys.of(new ShardKey(shards, lengthBuckets))
                .withKeyType(TypeDescriptors.integers()))
            .setCoder(KvCoder.of(VarIntCoder.of(), Artifact.Coder.of()));
    GroupIntoBatches<Integer, Artifact> group =
        byTokens
            ? GroupIntoBatches.<Integer, Artifact>ofByteSize(limit, new TokenEstimate(maxTokensPerText))
            : GroupIntoBatches.<Integer, Artifact>ofSize(limit);
    KvCoder<Integer, Iterable<Artifact>> batchCoder = KvCoder.of(VarIntCoder.of(), IterableCoder.of(Artifact.Coder.of()));
    PCollection<KV<Integer, Iterable<Artifact>>> grouped =
        keyed.apply("Group into batches", group.withMaxBufferingDuration(maxBuffering)).setCoder(batchCoder);
    // A batch leaves its key's worker: batches spread over all workers (on Flink, all slots), and each batch is
    // a bundle of its own, so its vectors are written when it is done rather than when the key's last batch is.
    return grouped.apply("Spread batches", Reshuffle.viaRandomKey()).setCoder(batchCoder);
  }

  /** shard * BUCKETS + bucket. */
  static final class ShardKey implements SerializableFunction<Artifact, Integer> {
    private final int shards;
    private final boolean lengthBuckets;

    ShardKey(int shards, boolean lengthBuckets) {
      this.shards = shards;
      this.lengthBuckets = lengthBuckets;
    }

    @Override
    public Integer apply(Artifact a) {
      int shard = Math.floorMod(a.id().hashCode(), shards);
      return shard * BUCKETS + (lengthBuckets ? bucket(a.text()) : 0);
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
  static final class TokenEstimate implements SerializableFunction<Artifact, Long> {
    private final int maxTokensPerText;

    TokenEstimate(int maxTokensPerText) {
      this.maxTokensPerText = maxTokensPerText;
    }

    @Override
    public Long apply(Artifact a) {
      long chars = a.text() == null ? 0 : a.text().length();
      return Math.min(maxTokensPerText, chars / 4 + 2);
    }
  }
}
