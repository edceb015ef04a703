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
  /** Everything the transform is configured with; each {@code withX} changes a copy. */
  private static final class Settings extends TransformSettings<Settings> {
    ModelSpec model;
    BatchMode batchMode = BatchMode.COUNT;
    int batchSize = 32;
    int groupSize;
    int maxBatchTokens = 2048;
    int maxTokensPerText = 512;
    int shards;
    boolean lengthBuckets = true;
    boolean measuring;
    Duration maxBuffering = Duration.standardSeconds(2);
    long deadlineMillis;
  }

  private final Settings s;

  private EmbedTexts(Settings settings) {
    this.s = settings;
  }

  private EmbedTexts<K> with(java.util.function.Consumer<Settings> change) {
    return new EmbedTexts<>(s.copy(change));
  }

  /**
   * Embeds with {@code model}. Defaults: forward passes of at most 32 texts and 2048 token slots, in groups of 4
   * passes' worth, length buckets on, 2 s of buffering, as many shards as the model's workers, no deadline.
   */
  public static <K> EmbedTexts<K> using(ModelSpec model) {
    if (model == null) {
      throw new IllegalArgumentException("model must not be null");
    }
    Settings settings = new Settings();
    settings.model = model;
    settings.shards = model.workers();
    return new EmbedTexts<>(settings);
  }

  /** At most this many texts per forward pass. */
  public EmbedTexts<K> withBatchSize(int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be > 0, but was " + batchSize);
    }
    return with(c -> c.batchSize = batchSize);
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
    return with(c -> c.groupSize = groupSize);
  }

  /** At most this many token slots (texts x longest) per forward pass; 0: no cap. */
  public EmbedTexts<K> withMaxBatchTokens(int maxBatchTokens) {
    if (maxBatchTokens < 0) {
      throw new IllegalArgumentException("maxBatchTokens must be >= 0 (0: no cap), but was " + maxBatchTokens);
    }
    return with(c -> c.maxBatchTokens = maxBatchTokens);
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
    return with(c -> {
      c.batchMode = batchMode;
      c.maxTokensPerText = maxTokensPerText;
    });
  }

  /** Keys the groups are spread over; each shard forms its groups on its own. */
  public EmbedTexts<K> withShards(int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("shards must be > 0, but was " + shards);
    }
    return with(c -> c.shards = shards);
  }

  /** Whether texts of similar length are grouped together (less padding). */
  public EmbedTexts<K> withLengthBuckets(boolean lengthBuckets) {
    return with(c -> c.lengthBuckets = lengthBuckets);
  }

  /**
   * Measures every text as a whole document as it is batched: counts documents, their tokens and the tokens a
   * vector covers, from the one tokenization that picks its length bucket ({@link MeasureTexts} counts the same
   * with a tokenization and a step of its own). For texts that are documents, not chunks ({@link ChunkTexts} counts
   * those).
   */
  public EmbedTexts<K> withMeasuring(boolean measuring) {
    return with(c -> c.measuring = measuring);
  }

  /** The longest wait for a group to fill before it is embedded as it is. */
  public EmbedTexts<K> withMaxBuffering(Duration maxBuffering) {
    if (maxBuffering == null || maxBuffering.getMillis() < 1) {
      throw new IllegalArgumentException("maxBuffering must be > 0 ms, but was " + maxBuffering);
    }
    return with(c -> c.maxBuffering = maxBuffering);
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
    return with(c -> c.deadlineMillis = epochMillis);
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
    long limit = s.batchMode == BatchMode.TOKENS ? s.maxBatchTokens : s.groupSize > 0 ? s.groupSize : 4L * s.batchSize;
    PCollectionTuple out =
        texts
            .apply("Batch", new BatchTexts<K>(s.batchMode, limit, s.maxTokensPerText, s.shards, s.lengthBuckets,
                s.maxBuffering, new ModelTokenCounter(s.model, s.measuring)))
            .apply("Embed", ParDo.of(new EmbedBatchFn<K>(s.model, s.batchSize, s.maxBatchTokens, s.deadlineMillis,
                    embedded, failed, deferred))
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
        .add(DisplayData.item("model", s.model.toString()))
        .add(DisplayData.item("batchMode", s.batchMode.label()))
        .add(DisplayData.item("batchSize", s.batchSize))
        .add(DisplayData.item("maxBatchTokens", s.maxBatchTokens));
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
