package io.pgembed.embed;

import io.pgembed.batch.BatchMode;
import io.pgembed.batch.BatchTexts;
import io.pgembed.model.ModelSpec;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;

/**
 * Embeds keyed texts with a sentence-embedding model, in any Beam Java pipeline: texts in, vectors out under the
 * same keys, and every text that got no vector in {@link Result#failed()} with the reason. It groups texts of similar
 * length ({@link BatchTexts}), runs one shared model per worker JVM ({@link SharedModels}: loaded once, at most
 * {@link ModelSpec#workers()} forward passes at once), isolates a text the model fails on by halving its group, and
 * counts everything in {@link io.pgembed.metrics.EmbeddingMetrics}. It needs no database.
 *
 * <pre>{@code
 * PCollection<KV<String, String>> texts = ...; // (id, text) from Kafka, files, BigQuery ...
 * EmbedTexts.Result<String> r = texts.apply("Embed", EmbedTexts.<String>using(ModelLoader.builder().build())
 *     .withBatchSize(32));
 * r.embedded();  // KV<id, float[]>
 * r.failed();    // KV<id, EmbeddingFailure>: NULL or blank texts, texts the model failed on alone
 * }</pre>
 *
 * <p>The input's coder must encode NULL texts if there are any ({@code NullableCoder.of(StringUtf8Coder.of())}).
 */
public final class EmbedTexts<K> extends PTransform<PCollection<KV<K, String>>, EmbedTexts.Result<K>> {
  private final ModelSpec model;
  private final BatchMode batchMode;
  private final int batchSize;
  private final int groupSize;
  private final int maxBatchTokens;
  private final int maxTokensPerText;
  private final int shards;
  private final boolean lengthBuckets;
  private final Duration maxBuffering;
  private final long deadlineMillis;

  private EmbedTexts(
      ModelSpec model, BatchMode batchMode, int batchSize, int groupSize, int maxBatchTokens, int maxTokensPerText,
      int shards, boolean lengthBuckets, Duration maxBuffering, long deadlineMillis) {
    this.model = model;
    this.batchMode = batchMode;
    this.batchSize = batchSize;
    this.groupSize = groupSize;
    this.maxBatchTokens = maxBatchTokens;
    this.maxTokensPerText = maxTokensPerText;
    this.shards = shards;
    this.lengthBuckets = lengthBuckets;
    this.maxBuffering = maxBuffering;
    this.deadlineMillis = deadlineMillis;
  }

  /**
   * Embeds with {@code model}. Defaults: groups of 32 texts, at most 2048 token slots per forward pass, length
   * buckets on, 2 s of buffering, as many shards as the model's workers, no deadline.
   */
  public static <K> EmbedTexts<K> using(ModelSpec model) {
    if (model == null) {
      throw new IllegalArgumentException("model must not be null");
    }
    return new EmbedTexts<>(
        model, BatchMode.COUNT, 32, 0, 2048, 512, model.workers(), true, Duration.standardSeconds(2), 0);
  }

  /** At most this many texts per forward pass. */
  public EmbedTexts<K> withBatchSize(int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be > 0, but was " + batchSize);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /**
   * Texts per group that {@code GroupIntoBatches} forms by count; 0 (the default) means 4 x the batch size. A group
   * is sorted by token length and embedded in forward passes of at most the batch size, so a group larger than a
   * pass lets texts of nearly the same length share one: padding efficiency 0.63 with groups of 32 short texts.
   */
  public EmbedTexts<K> withGroupSize(int groupSize) {
    if (groupSize < 0) {
      throw new IllegalArgumentException("groupSize must be >= 0 (0: 4 x batchSize), but was " + groupSize);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /** At most this many token slots (texts x longest) per forward pass; 0: no cap. */
  public EmbedTexts<K> withMaxBatchTokens(int maxBatchTokens) {
    if (maxBatchTokens < 0) {
      throw new IllegalArgumentException("maxBatchTokens must be >= 0 (0: no cap), but was " + maxBatchTokens);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /**
   * Groups by count ({@code batchSize} texts) or by tokens ({@code maxBatchTokens} estimated tokens, each text
   * counted at most {@code maxTokensPerText}: the model's limit).
   */
  public EmbedTexts<K> withBatchMode(BatchMode batchMode, int maxTokensPerText) {
    if (batchMode == null) {
      throw new IllegalArgumentException("batchMode must not be null");
    }
    if (maxTokensPerText < 1) {
      throw new IllegalArgumentException("maxTokensPerText must be > 0, but was " + maxTokensPerText);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /** Keys the groups are spread over; each shard forms its groups on its own. */
  public EmbedTexts<K> withShards(int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be > 0, but was " + shards);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /** Whether texts of similar length are grouped together (less padding). */
  public EmbedTexts<K> withLengthBuckets(boolean lengthBuckets) {
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /** The longest wait for a group to fill. */
  public EmbedTexts<K> withMaxBuffering(Duration maxBuffering) {
    if (maxBuffering == null || maxBuffering.getMillis() < 1) {
      throw new IllegalArgumentException("maxBuffering must be > 0 ms, but was " + maxBuffering);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, deadlineMillis);
  }

  /**
   * Groups that reach the embed step after this epoch time (ms; 0: none) are not embedded and go to
   * {@link Result#deferred()}: a run with a timeout drains what it embedded instead of being killed with vectors in
   * flight, and the deferred texts are left for the next run.
   */
  public EmbedTexts<K> withDeadline(long epochMillis) {
    if (epochMillis < 0) {
      throw new IllegalArgumentException("deadline must be >= 0 (0: none), but was " + epochMillis);
    }
    return new EmbedTexts<>(model, batchMode, batchSize, groupSize, maxBatchTokens, maxTokensPerText, shards,
        lengthBuckets, maxBuffering, epochMillis);
  }

  @Override
  public Result<K> expand(PCollection<KV<K, String>> texts) {
    if (!(texts.getCoder() instanceof KvCoder<K, String> kv)) {
      throw new IllegalArgumentException("EmbedTexts needs a KvCoder on its input, but got " + texts.getCoder());
    }
    Coder<K> keyCoder = kv.getKeyCoder();
    TupleTag<KV<K, float[]>> embedded = new TupleTag<>() {};
    TupleTag<KV<K, EmbeddingFailure>> failed = new TupleTag<>() {};
    TupleTag<KV<K, String>> deferred = new TupleTag<>() {};
    long limit = batchMode == BatchMode.TOKENS ? maxBatchTokens : groupSize > 0 ? groupSize : 4L * batchSize;
    PCollectionTuple out =
        texts
            .apply("Batch", new BatchTexts<K>(batchMode, limit, maxTokensPerText, shards, lengthBuckets, maxBuffering,
                new ModelTokenCounter(model)))
            .apply("Embed", ParDo.of(new EmbedBatchFn<K>(model, batchSize, maxBatchTokens, deadlineMillis, embedded,
                    failed, deferred))
                .withOutputTags(embedded, TupleTagList.of(failed).and(deferred)));
    return new Result<>(
        texts.getPipeline(),
        embedded, out.get(embedded).setCoder(KvCoder.of(keyCoder, VectorCoder.of())),
        failed, out.get(failed).setCoder(KvCoder.of(keyCoder, EmbeddingFailure.Coder.of())),
        deferred, out.get(deferred).setCoder(texts.getCoder()));
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("model", model.toString()))
        .add(DisplayData.item("batchMode", batchMode.label()))
        .add(DisplayData.item("batchSize", batchSize))
        .add(DisplayData.item("maxBatchTokens", maxBatchTokens));
  }

  /** What {@link EmbedTexts} produced: vectors, texts that got none (with the reason), and deferred texts. */
  public static final class Result<K> implements POutput {
    private final Pipeline pipeline;
    private final TupleTag<KV<K, float[]>> embeddedTag;
    private final PCollection<KV<K, float[]>> embedded;
    private final TupleTag<KV<K, EmbeddingFailure>> failedTag;
    private final PCollection<KV<K, EmbeddingFailure>> failed;
    private final TupleTag<KV<K, String>> deferredTag;
    private final PCollection<KV<K, String>> deferred;

    Result(
        Pipeline pipeline, TupleTag<KV<K, float[]>> embeddedTag, PCollection<KV<K, float[]>> embedded,
        TupleTag<KV<K, EmbeddingFailure>> failedTag, PCollection<KV<K, EmbeddingFailure>> failed,
        TupleTag<KV<K, String>> deferredTag, PCollection<KV<K, String>> deferred) {
      this.pipeline = pipeline;
      this.embeddedTag = embeddedTag;
      this.embedded = embedded;
      this.failedTag = failedTag;
      this.failed = failed;
      this.deferredTag = deferredTag;
      this.deferred = deferred;
    }

    /** One vector per embedded text, under its key. */
    public PCollection<KV<K, float[]>> embedded() {
      return embedded;
    }

    /** Texts skipped (NULL or blank) or failed alone, with the reason. */
    public PCollection<KV<K, EmbeddingFailure>> failed() {
      return failed;
    }

    /** Texts not embedded because they reached the model after the deadline. */
    public PCollection<KV<K, String>> deferred() {
      return deferred;
    }

    @Override
    public Pipeline getPipeline() {
      return pipeline;
    }

    @Override
    public Map<TupleTag<?>, PValue> expand() {
      return Map.of(embeddedTag, embedded, failedTag, failed, deferredTag, deferred);
    }

    @Override
    public void finishSpecifyingOutput(String transformName, PInput input, PTransform<?, ?> transform) {}
  }
}
