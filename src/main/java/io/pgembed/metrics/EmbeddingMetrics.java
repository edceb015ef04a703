package io.pgembed.metrics;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * The one owner of the job's Beam metric names: the steps count through the constants here, and the report reads
 * them back through {@link #snapshot(PipelineResult)}, so a name is written once.
 *
 * <pre>{@code
 * EmbeddingMetrics.ROWS_EMBEDDED.inc(n);                      // in a DoFn
 * EmbeddingMetrics.Snapshot s = EmbeddingMetrics.snapshot(result); // after the run
 * }</pre>
 */
public final class EmbeddingMetrics {
  /** The job's counters and distributions. */
  public static final String NAMESPACE = "pgembed";
  /** Per-JVM counters, {@code rows_embedded@pid@host} and {@code models_loaded@pid@host}. */
  public static final String WORKERS_NAMESPACE = "pgembed.workers";

  public static final Counter ROWS_READ = Metrics.counter(NAMESPACE, "rows_read");
  public static final Counter POLLS = Metrics.counter(NAMESPACE, "polls");
  public static final Counter ROWS_IN_FLIGHT_SKIPPED = Metrics.counter(NAMESPACE, "rows_in_flight_skipped");
  public static final Counter ROWS_EMBEDDED = Metrics.counter(NAMESPACE, "rows_embedded");
  public static final Counter ROWS_SKIPPED = Metrics.counter(NAMESPACE, "rows_skipped");
  public static final Counter ROWS_FAILED = Metrics.counter(NAMESPACE, "rows_failed");
  public static final Counter ROWS_DEFERRED = Metrics.counter(NAMESPACE, "rows_deferred");
  /** Vectors removed because their row left the source (continuous mode's periodic pruning). */
  public static final Counter ROWS_PRUNED = Metrics.counter(NAMESPACE, "rows_pruned");
  /** Forward passes of the model: a group of rows is embedded in one or more length-sorted passes. */
  public static final Counter FORWARD_PASSES = Metrics.counter(NAMESPACE, "forward_passes");
  public static final Counter GROUP_SPLITS = Metrics.counter(NAMESPACE, "group_splits");
  public static final Counter TOKENS = Metrics.counter(NAMESPACE, "tokens");
  public static final Counter PADDED_TOKENS = Metrics.counter(NAMESPACE, "padded_tokens");
  public static final Counter TRUNCATED_INPUTS = Metrics.counter(NAMESPACE, "truncated_inputs");
  /**
   * Vectors not written because a component was NaN or infinite or the vector was all zeros (each row also counts
   * in rows_failed, with the reason in the failures table).
   */
  public static final Counter VECTORS_REJECTED = Metrics.counter(NAMESPACE, "vectors_rejected");
  /** Documents (source texts) measured, or cut into chunks with --chunking=tokens. */
  public static final Counter DOCUMENTS = Metrics.counter(NAMESPACE, "documents");
  /** Chunks cut from the documents (--chunking=tokens); each is embedded as a row is. */
  public static final Counter CHUNKS = Metrics.counter(NAMESPACE, "chunks");
  /** The documents' tokens, untruncated and without special tokens. */
  public static final Counter SOURCE_TOKENS = Metrics.counter(NAMESPACE, "source_tokens");
  /** Of those, the tokens some vector covers: all with chunking, the first max length's without. */
  public static final Counter COVERED_TOKENS = Metrics.counter(NAMESPACE, "covered_tokens");
  /** Microseconds the model spent in forward passes (a JVM's passes take turns): its busy time. */
  public static final Counter MODEL_BUSY_US = Metrics.counter(NAMESPACE, "model_busy_us");
  /** Rows per group that GroupIntoBatches formed, and the time to embed one group. */
  public static final org.apache.beam.sdk.metrics.Distribution GROUP_SIZE =
      Metrics.distribution(NAMESPACE, "group_size");
  public static final org.apache.beam.sdk.metrics.Distribution GROUP_LATENCY_MS =
      Metrics.distribution(NAMESPACE, "group_latency_ms");

  private EmbeddingMetrics() {}

  /** This JVM's counter of embedded rows, named after it: the report names the processes that embedded. */
  public static Counter jvmRowsEmbedded() {
    return Metrics.counter(WORKERS_NAMESPACE, "rows_embedded@" + jvmName());
  }

  /** This JVM's peak heap, as a distribution whose max is the peak over the run. */
  public static org.apache.beam.sdk.metrics.Distribution jvmPeakHeap() {
    return Metrics.distribution(WORKERS_NAMESPACE, "peak_heap_bytes@" + jvmName());
  }

  /** This JVM's peak resident memory (VmHWM), as a distribution whose max is the peak. */
  public static org.apache.beam.sdk.metrics.Distribution jvmPeakRss() {
    return Metrics.distribution(WORKERS_NAMESPACE, "peak_rss_bytes@" + jvmName());
  }

  /** This JVM's counter of model loads. */
  public static Counter jvmModelLoads() {
    return Metrics.counter(WORKERS_NAMESPACE, "models_loaded@" + jvmName());
  }

  /** This JVM as {@code pid@host}. */
  public static String jvmName() {
    return JvmName.NAME;
  }

  private static final class JvmName {
    static final String NAME = compute();

    private static String compute() {
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        host = "unknown-host";
      }
      return ProcessHandle.current().pid() + "@" + host;
    }
  }

  /**
   * What one worker JVM ({@code pid@host}) did: rows embedded, models it loaded (1: shared across slots), and its
   * peak heap and resident memory while it embedded.
   */
  public record WorkerJvm(long rowsEmbedded, long modelsLoaded, long peakHeapBytes, long peakRssBytes) {
    WorkerJvm plus(WorkerJvm o) {
      return new WorkerJvm(rowsEmbedded + o.rowsEmbedded, modelsLoaded + o.modelsLoaded,
          Math.max(peakHeapBytes, o.peakHeapBytes), Math.max(peakRssBytes, o.peakRssBytes));
    }
  }

  /** The job's metrics at one moment, typed; attempted values (what every runner reports). */
  public record Snapshot(
      long rowsRead, long polls, long rowsInFlightSkipped, long rowsEmbedded, long rowsSkipped, long rowsFailed,
      long rowsDeferred, long forwardPasses, long groupSplits, long tokens, long paddedTokens, long truncatedInputs,
      long groups, long groupRows, long groupLatencyMsSum, long modelBusyMicros, long rowsPruned,
      long vectorsRejected, long documents, long chunks, long sourceTokens, long coveredTokens,
      Map<String, WorkerJvm> workers) {
    public static final Snapshot EMPTY =
        new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of());

    /** Rows that reached an outcome: embedded, skipped or failed. */
    public long rowsDone() {
      return rowsEmbedded + rowsSkipped + rowsFailed;
    }

    /** The metrics of two pipelines of one run (its waves) together. */
    public Snapshot plus(Snapshot o) {
      Map<String, WorkerJvm> jvms = new TreeMap<>(workers);
      o.workers.forEach((k, v) -> jvms.merge(k, v, WorkerJvm::plus));
      return new Snapshot(rowsRead + o.rowsRead, polls + o.polls, rowsInFlightSkipped + o.rowsInFlightSkipped,
          rowsEmbedded + o.rowsEmbedded, rowsSkipped + o.rowsSkipped, rowsFailed + o.rowsFailed,
          rowsDeferred + o.rowsDeferred, forwardPasses + o.forwardPasses, groupSplits + o.groupSplits,
          tokens + o.tokens, paddedTokens + o.paddedTokens, truncatedInputs + o.truncatedInputs, groups + o.groups,
          groupRows + o.groupRows, groupLatencyMsSum + o.groupLatencyMsSum, modelBusyMicros + o.modelBusyMicros,
          rowsPruned + o.rowsPruned, vectorsRejected + o.vectorsRejected, documents + o.documents,
          chunks + o.chunks, sourceTokens + o.sourceTokens, coveredTokens + o.coveredTokens,
          java.util.Collections.unmodifiableMap(jvms));
    }
  }

  /** The metrics of {@code result} now (a running pipeline's so far). */
  public static Snapshot snapshot(PipelineResult result) {
    MetricQueryResults q =
        result.metrics().queryMetrics(
            MetricsFilter.builder().addNameFilter(MetricNameFilter.inNamespace(NAMESPACE)).build());
    Map<String, Long> c = new LinkedHashMap<>();
    for (MetricResult<Long> r : q.getCounters()) {
      c.merge(r.getName().getName(), r.getAttempted(), Long::sum);
    }
    for (MetricResult<DistributionResult> d : q.getDistributions()) {
      c.merge(d.getName().getName() + ".sum", d.getAttempted().getSum(), Long::sum);
      c.merge(d.getName().getName() + ".count", d.getAttempted().getCount(), Long::sum);
    }
    return new Snapshot(
        c.getOrDefault("rows_read", 0L), c.getOrDefault("polls", 0L), c.getOrDefault("rows_in_flight_skipped", 0L),
        c.getOrDefault("rows_embedded", 0L), c.getOrDefault("rows_skipped", 0L), c.getOrDefault("rows_failed", 0L),
        c.getOrDefault("rows_deferred", 0L), c.getOrDefault("forward_passes", 0L),
        c.getOrDefault("group_splits", 0L), c.getOrDefault("tokens", 0L), c.getOrDefault("padded_tokens", 0L),
        c.getOrDefault("truncated_inputs", 0L), c.getOrDefault("group_size.count", 0L),
        c.getOrDefault("group_size.sum", 0L), c.getOrDefault("group_latency_ms.sum", 0L),
        c.getOrDefault("model_busy_us", 0L), c.getOrDefault("rows_pruned", 0L),
        c.getOrDefault("vectors_rejected", 0L), c.getOrDefault("documents", 0L), c.getOrDefault("chunks", 0L),
        c.getOrDefault("source_tokens", 0L), c.getOrDefault("covered_tokens", 0L), workers(result));
  }

  private static Map<String, WorkerJvm> workers(PipelineResult result) {
    MetricQueryResults q = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.inNamespace(WORKERS_NAMESPACE)).build());
    Map<String, WorkerJvm> out = new TreeMap<>();
    for (MetricResult<Long> c : q.getCounters()) {
      String name = c.getName().getName();
      int at = name.indexOf('@');
      if (at >= 0) {
        long n = c.getAttempted();
        WorkerJvm w = name.startsWith("models_loaded") ? new WorkerJvm(0, n, 0, 0) : new WorkerJvm(n, 0, 0, 0);
        out.merge(name.substring(at + 1), w, WorkerJvm::plus);
      }
    }
    for (MetricResult<DistributionResult> d : q.getDistributions()) {
      String name = d.getName().getName();
      int at = name.indexOf('@');
      if (at >= 0 && d.getAttempted().getCount() > 0) {
        long max = d.getAttempted().getMax();
        WorkerJvm w = name.startsWith("peak_heap") ? new WorkerJvm(0, 0, max, 0) : new WorkerJvm(0, 0, 0, max);
        out.merge(name.substring(at + 1), w, WorkerJvm::plus);
      }
    }
    return java.util.Collections.unmodifiableMap(out);
  }
}
