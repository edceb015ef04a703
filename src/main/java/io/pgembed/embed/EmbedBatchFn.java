package io.pgembed.embed;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.Tokenized;
import io.pgembed.read.Artifact;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;

/**
 * Embeds a batch of rows with the JVM's shared model ({@link SharedModels}); each DoFn instance has its own
 * predictor. Rows with NULL or blank text are skipped and recorded. If a batch throws, it is split in halves and
 * each half retried, down to single rows, so one poison row cannot fail its neighbours; a row that fails alone goes
 * to the {@link #FAILED} output with its error. After the run's deadline, batches are counted as deferred and left
 * pending.
 */
public final class EmbedBatchFn extends DoFn<KV<Integer, Iterable<Artifact>>, EmbeddedRow> {
  public static final String NAMESPACE = "pgembed";
  /** Per-JVM counters, {@code rows_embedded@pid@host} and {@code models_loaded@pid@host}: see {@link #jvmName()}. */
  public static final String WORKERS_NAMESPACE = "pgembed.workers";
  public static final TupleTag<EmbeddedRow> EMBEDDED = new TupleTag<>() {};
  public static final TupleTag<FailedRow> FAILED = new TupleTag<>() {};

  private static final Counter EMBEDDED_ROWS = Metrics.counter(NAMESPACE, "rows_embedded");
  private static final Counter SKIPPED_ROWS = Metrics.counter(NAMESPACE, "rows_skipped");
  private static final Counter FAILED_ROWS = Metrics.counter(NAMESPACE, "rows_failed");
  private static final Counter DEFERRED_ROWS = Metrics.counter(NAMESPACE, "rows_deferred");
  private static final Counter BATCHES = Metrics.counter(NAMESPACE, "batches");
  private static final Counter BATCH_SPLITS = Metrics.counter(NAMESPACE, "batch_splits");
  private static final Counter TOKENS = Metrics.counter(NAMESPACE, "tokens");
  private static final Counter PADDED_TOKENS = Metrics.counter(NAMESPACE, "padded_tokens");
  private static final Counter TRUNCATED = Metrics.counter(NAMESPACE, "truncated_inputs");
  private static final Distribution BATCH_SIZE = Metrics.distribution(NAMESPACE, "batch_size");
  private static final Distribution BATCH_LATENCY_MS = Metrics.distribution(NAMESPACE, "batch_latency_ms");
  private static final int MAX_MESSAGE = 2000;

  private final ModelLoader loader;
  private final int batchSize;
  private final int maxBatchTokens;
  private final String failOnTextMatching;
  private final long deadlineMillis;
  private transient EmbeddingPredictor predictor;
  private transient Semaphore forwardPasses;
  private transient Pattern failPattern;
  private transient Counter jvmRows;
  private transient Counter jvmModelLoads;

  /**
   * {@code deadlineMillis}: the epoch time of --timeout (0: none). Batches that arrive after it are not embedded and
   * produce nothing, so their rows stay pending for the next run, while everything embedded before it still flows
   * to the writer: the run drains instead of being killed with vectors in flight.
   */
  public EmbedBatchFn(
      ModelLoader loader, int batchSize, int maxBatchTokens, String failOnTextMatching, long deadlineMillis) {
    this.loader = loader;
    this.deadlineMillis = deadlineMillis;
    this.batchSize = batchSize;
    this.maxBatchTokens = maxBatchTokens;
    this.failOnTextMatching = failOnTextMatching;
  }

  @Setup
  public void setup() {
    EmbeddingModel model = SharedModels.acquire(loader);
    predictor = model.newPredictor();
    forwardPasses = SharedModels.forwardPasses(loader);
    failPattern = failOnTextMatching == null ? null : Pattern.compile(failOnTextMatching);
    jvmRows = Metrics.counter(WORKERS_NAMESPACE, "rows_embedded@" + jvmName());
    jvmModelLoads = Metrics.counter(WORKERS_NAMESPACE, "models_loaded@" + jvmName());
  }

  /** This JVM as {@code pid@host}: the report names the processes that did the embedding. */
  public static String jvmName() {
    return JvmName.NAME;
  }

  private static final class JvmName {
    static final String NAME = compute();

    private static String compute() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        host = "unknown-host";
      }
      return ProcessHandle.current().pid() + "@" + host;
    }
  }

  @ProcessElement
  public void process(@Element KV<Integer, Iterable<Artifact>> batch, MultiOutputReceiver out) {
    long loads = SharedModels.takeUnreportedLoads();
    if (loads > 0) {
      jvmModelLoads.inc(loads);
    }
    if (deadlineMillis > 0 && System.currentTimeMillis() > deadlineMillis) {
      long n = 0;
      for (Artifact ignored : batch.getValue()) {
        n++;
      }
      DEFERRED_ROWS.inc(n);
      return;
    }
    List<Artifact> rows = new ArrayList<>();
    for (Artifact a : batch.getValue()) {
      if (a.text() == null) {
        skip(a, FailedRow.SKIPPED_NULL, "the text column is NULL", out);
      } else if (a.text().isBlank()) {
        skip(a, FailedRow.SKIPPED_BLANK, "the text is empty or only whitespace", out);
      } else {
        rows.add(a);
      }
    }
    if (!rows.isEmpty()) {
      embedOrSplit(rows, out);
    }
  }

  private void skip(Artifact a, String reason, String message, MultiOutputReceiver out) {
    SKIPPED_ROWS.inc();
    out.get(FAILED).output(new FailedRow(a.id(), reason, message, false, a.contentSha256()));
  }

  private void embedOrSplit(List<Artifact> rows, MultiOutputReceiver out) {
    long start = System.nanoTime();
    LengthSortedBatches.Result r;
    try {
      List<String> texts = new ArrayList<>(rows.size());
      for (Artifact a : rows) {
        if (failPattern != null && failPattern.matcher(a.text()).find()) {
          throw new InjectedFailure("--failOnTextMatching matched a text of this batch");
        }
        texts.add(a.text());
      }
      // Tokenizing (multi-threaded in Rust) beside a forward pass (OpenMP threads that spin) slows both down:
      // a worker does one or the other.
      forwardPasses.acquireUninterruptibly();
      try {
        List<Tokenized> tokens = predictor.tokenizer().tokenize(texts);
        r = LengthSortedBatches.embed(predictor, tokens, batchSize, maxBatchTokens);
      } finally {
        forwardPasses.release();
      }
    } catch (RuntimeException e) {
      if (rows.size() == 1) {
        Artifact a = rows.get(0);
        FAILED_ROWS.inc();
        String message = String.valueOf(e.getMessage());
        out.get(FAILED)
            .output(
                new FailedRow(
                    a.id(),
                    e.getClass().getName(),
                    message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) : message,
                    true,
                    a.contentSha256()));
        return;
      }
      // One bad row must not fail the others: retry each half on its own.
      BATCH_SPLITS.inc();
      int half = rows.size() / 2;
      embedOrSplit(rows.subList(0, half), out);
      embedOrSplit(rows.subList(half, rows.size()), out);
      return;
    }
    for (int i = 0; i < rows.size(); i++) {
      Artifact a = rows.get(i);
      out.get(EMBEDDED).output(new EmbeddedRow(a.id(), r.vectors()[i], a.contentSha256()));
    }
    EMBEDDED_ROWS.inc(rows.size());
    jvmRows.inc(rows.size());
    BATCHES.inc(r.batches());
    TOKENS.inc(r.realTokens());
    PADDED_TOKENS.inc(r.paddedTokens());
    TRUNCATED.inc(r.truncated());
    BATCH_SIZE.update(rows.size());
    BATCH_LATENCY_MS.update((System.nanoTime() - start) / 1_000_000);
  }

  @Teardown
  public void teardown() {
    if (predictor != null) {
      predictor.close();
      predictor = null;
      SharedModels.release(loader);
    }
  }

  /** What {@code --failOnTextMatching} throws. */
  public static final class InjectedFailure extends RuntimeException {
    InjectedFailure(String message) {
      super(message);
    }
  }
}
