package io.pgembed.embed;

import static io.pgembed.metrics.EmbeddingMetrics.FORWARD_PASSES;
import static io.pgembed.metrics.EmbeddingMetrics.GROUP_LATENCY_MS;
import static io.pgembed.metrics.EmbeddingMetrics.MODEL_BUSY_US;
import static io.pgembed.metrics.EmbeddingMetrics.GROUP_SIZE;
import static io.pgembed.metrics.EmbeddingMetrics.GROUP_SPLITS;
import static io.pgembed.metrics.EmbeddingMetrics.PADDED_TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.ROWS_DEFERRED;
import static io.pgembed.metrics.EmbeddingMetrics.ROWS_EMBEDDED;
import static io.pgembed.metrics.EmbeddingMetrics.ROWS_FAILED;
import static io.pgembed.metrics.EmbeddingMetrics.ROWS_SKIPPED;
import static io.pgembed.metrics.EmbeddingMetrics.TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.TRUNCATED_INPUTS;
import static io.pgembed.metrics.EmbeddingMetrics.VECTORS_REJECTED;

import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.metrics.JvmMemory;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Embeds one group of texts with the JVM's shared model ({@link SharedModels}); each DoFn instance has its own
 * predictor. NULL or blank texts are skipped with their reason. If the model throws, the group is split in halves
 * and each half retried, down to single texts, so one poison text cannot fail its neighbours; a text that fails
 * alone goes to the failed output with its error. After the deadline, groups go to the deferred output unembedded.
 */
final class EmbedBatchFn<K> extends DoFn<KV<Integer, Iterable<KV<K, String>>>, KV<K, float[]>> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EmbedBatchFn.class);
  /** Whether this JVM (classloader) has started a forward pass: the first is logged with its time since start. */
  private static final java.util.concurrent.atomic.AtomicBoolean FORWARD_STARTED =
      new java.util.concurrent.atomic.AtomicBoolean();

  private final ModelSpec spec;
  private final int batchSize;
  private final int maxBatchTokens;
  private final long deadlineMillis;
  private final TupleTag<KV<K, float[]>> embeddedTag;
  private final TupleTag<KV<K, EmbeddingFailure>> failedTag;
  private final TupleTag<KV<K, String>> deferredTag;
  private transient EmbeddingPredictor predictor;
  private transient Semaphore forwardPasses;
  private transient Counter jvmRows;
  private transient Counter jvmModelLoads;
  private transient org.apache.beam.sdk.metrics.Distribution jvmPeakHeap;
  private transient org.apache.beam.sdk.metrics.Distribution jvmPeakRss;

  EmbedBatchFn(
      ModelSpec spec, int batchSize, int maxBatchTokens, long deadlineMillis, TupleTag<KV<K, float[]>> embeddedTag,
      TupleTag<KV<K, EmbeddingFailure>> failedTag, TupleTag<KV<K, String>> deferredTag) {
    this.spec = spec;
    this.batchSize = batchSize;
    this.maxBatchTokens = maxBatchTokens;
    this.deadlineMillis = deadlineMillis;
    this.embeddedTag = embeddedTag;
    this.failedTag = failedTag;
    this.deferredTag = deferredTag;
  }

  @Setup
  public void setup() {
    predictor = SharedModels.acquire(spec).newPredictor();
    forwardPasses = SharedModels.forwardPasses(spec);
    jvmRows = EmbeddingMetrics.jvmRowsEmbedded();
    jvmModelLoads = EmbeddingMetrics.jvmModelLoads();
    jvmPeakHeap = EmbeddingMetrics.jvmPeakHeap();
    jvmPeakRss = EmbeddingMetrics.jvmPeakRss();
  }

  @ProcessElement
  public void process(@Element KV<Integer, Iterable<KV<K, String>>> group, MultiOutputReceiver out) {
    long loads = SharedModels.takeUnreportedLoads();
    if (loads > 0) {
      jvmModelLoads.inc(loads);
    }
    if (deadlineMillis > 0 && System.currentTimeMillis() > deadlineMillis) {
      for (KV<K, String> row : group.getValue()) {
        ROWS_DEFERRED.inc();
        out.get(deferredTag).output(row);
      }
      return;
    }
    List<KV<K, String>> rows = new ArrayList<>();
    for (KV<K, String> row : group.getValue()) {
      if (row.getValue() == null) {
        skip(row, EmbeddingFailure.SKIPPED_NULL, "the text column is NULL", out);
      } else if (row.getValue().isBlank()) {
        skip(row, EmbeddingFailure.SKIPPED_BLANK, "the text is empty or only whitespace", out);
      } else {
        rows.add(row);
      }
    }
    if (!rows.isEmpty()) {
      long start = System.nanoTime();
      embedOrSplit(rows, out);
      GROUP_SIZE.update(rows.size());
      GROUP_LATENCY_MS.update((System.nanoTime() - start) / 1_000_000);
      jvmPeakHeap.update(JvmMemory.peakHeap());
      jvmPeakRss.update(JvmMemory.peakRss());
    }
  }

  private void skip(KV<K, String> row, String reason, String message, MultiOutputReceiver out) {
    ROWS_SKIPPED.inc();
    out.get(failedTag).output(KV.of(row.getKey(), new EmbeddingFailure(reason, message, false)));
  }

  private void embedOrSplit(List<KV<K, String>> rows, MultiOutputReceiver out) {
    LengthSortedBatches.Result r;
    try {
      List<String> texts = new ArrayList<>(rows.size());
      for (KV<K, String> row : rows) {
        texts.add(row.getValue());
      }
      // Tokenizing (multi-threaded in Rust) beside a forward pass (OpenMP threads that spin) slows both down:
      // a worker does one or the other.
      forwardPasses.acquireUninterruptibly();
      if (FORWARD_STARTED.compareAndSet(false, true)) {
        LOG.info("First forward pass of this JVM: {} ms after the process started", JvmMemory.sinceStartMillis());
      }
      long busy = System.nanoTime();
      try {
        r = predictor.embedAll(texts, batchSize, maxBatchTokens);
      } finally {
        MODEL_BUSY_US.inc((System.nanoTime() - busy) / 1_000);
        forwardPasses.release();
      }
    } catch (RuntimeException | OutOfMemoryError e) {
      // An engine failure (a CUDA or CPU allocation surfaces as an EngineException) or a heap a huge batch
      // exhausted: halve and retry, down to one row, which is recorded as failed with the error.
      if (rows.size() == 1) {
        ROWS_FAILED.inc();
        out.get(failedTag).output(KV.of(rows.get(0).getKey(), EmbeddingFailure.of(e)));
        return;
      }
      // One bad text must not fail the others: retry each half on its own.
      GROUP_SPLITS.inc();
      int half = rows.size() / 2;
      embedOrSplit(rows.subList(0, half), out);
      embedOrSplit(rows.subList(half, rows.size()), out);
      return;
    }
    int embedded = 0;
    for (int i = 0; i < rows.size(); i++) {
      String invalid = EmbeddingFailure.invalidVector(r.vectors()[i]);
      if (invalid != null) {
        // Never written: a NaN poisons every distance, a zero vector has no direction (cosine undefined).
        VECTORS_REJECTED.inc();
        ROWS_FAILED.inc();
        out.get(failedTag).output(KV.of(rows.get(i).getKey(),
            new EmbeddingFailure(EmbeddingFailure.INVALID_VECTOR, invalid, true)));
      } else {
        out.get(embeddedTag).output(KV.of(rows.get(i).getKey(), r.vectors()[i]));
        embedded++;
      }
    }
    ROWS_EMBEDDED.inc(embedded);
    jvmRows.inc(embedded);
    FORWARD_PASSES.inc(r.forwardPasses());
    TOKENS.inc(r.realTokens());
    PADDED_TOKENS.inc(r.paddedTokens());
    TRUNCATED_INPUTS.inc(r.truncated());
  }

  @Teardown
  public void teardown() {
    if (predictor != null) {
      predictor.close();
      predictor = null;
      SharedModels.release(spec);
    }
  }
}
