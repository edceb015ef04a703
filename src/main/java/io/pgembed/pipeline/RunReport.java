package io.pgembed.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * The end-of-run report, from the pipeline's Beam metrics plus wall time and this process's memory.
 *
 * <p>{@code status} is {@code complete}, {@code partial} (stopped at --timeout; the rest stays pending) or
 * {@code failed}.
 */
public record RunReport(
    String status,
    String model,
    double wallSeconds,
    long pendingAtStart,
    long read,
    long embedded,
    long skipped,
    long failed,
    long deferred,
    long batches,
    long batchSplits,
    long tokens,
    long paddedTokens,
    long truncated,
    double meanBatchSize,
    double meanBatchLatencyMs,
    long peakHeapBytes,
    long peakRssBytes,
    long stillPending,
    Map<String, WorkerJvm> workers,
    String error) {

  /** What one worker JVM ({@code pid@host}) did: rows embedded, and models it loaded (1: shared across slots). */
  public record WorkerJvm(long rowsEmbedded, long modelsLoaded) {}

  public double embeddingsPerSecond() {
    return wallSeconds > 0 ? embedded / wallSeconds : 0;
  }

  public double successRate() {
    return read == 0 ? 1 : (double) embedded / read;
  }

  public double errorRate() {
    return read == 0 ? 0 : (double) failed / read;
  }

  public double paddingEfficiency() {
    return paddedTokens == 0 ? 1 : (double) tokens / paddedTokens;
  }

  /** Counters of the "pgembed" namespace, attempted values (what every runner reports). */
  public static Map<String, Long> counters(PipelineResult result) {
    MetricQueryResults q =
        result.metrics().queryMetrics(MetricsFilter.builder().addNameFilter(MetricNameFilter.inNamespace("pgembed")).build());
    Map<String, Long> out = new LinkedHashMap<>();
    for (MetricResult<Long> c : q.getCounters()) {
      out.merge(c.getName().getName(), c.getAttempted(), Long::sum);
    }
    for (MetricResult<DistributionResult> d : q.getDistributions()) {
      DistributionResult r = d.getAttempted();
      out.merge(d.getName().getName() + ".sum", r.getSum(), Long::sum);
      out.merge(d.getName().getName() + ".count", r.getCount(), Long::sum);
    }
    return out;
  }

  /**
   * Per worker JVM, from the counters of {@link io.pgembed.embed.EmbedBatchFn#WORKERS_NAMESPACE}, named
   * {@code rows_embedded@pid@host} and {@code models_loaded@pid@host}: which processes did the embedding (on Flink, the
   * TaskManagers, not the client).
   */
  public static Map<String, WorkerJvm> workers(PipelineResult result) {
    MetricQueryResults q = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.inNamespace(io.pgembed.embed.EmbedBatchFn.WORKERS_NAMESPACE)).build());
    Map<String, WorkerJvm> out = new java.util.TreeMap<>();
    for (MetricResult<Long> c : q.getCounters()) {
      String name = c.getName().getName();
      int at = name.indexOf('@');
      if (at >= 0) {
        long n = c.getAttempted();
        WorkerJvm w = name.startsWith("models_loaded") ? new WorkerJvm(0, n) : new WorkerJvm(n, 0);
        out.merge(name.substring(at + 1), w,
            (a, b) -> new WorkerJvm(a.rowsEmbedded() + b.rowsEmbedded(), a.modelsLoaded() + b.modelsLoaded()));
      }
    }
    return out;
  }

  static RunReport of(
      String status, String model, double wallSeconds, long pendingAtStart, Map<String, Long> c, long stillPending,
      Map<String, WorkerJvm> workers, String error) {
    long batchCount = c.getOrDefault("batch_size.count", 0L);
    return new RunReport(
        status,
        model,
        wallSeconds,
        pendingAtStart,
        c.getOrDefault("rows_read", 0L),
        c.getOrDefault("rows_embedded", 0L),
        c.getOrDefault("rows_skipped", 0L),
        c.getOrDefault("rows_failed", 0L),
        c.getOrDefault("rows_deferred", 0L),
        c.getOrDefault("batches", 0L),
        c.getOrDefault("batch_splits", 0L),
        c.getOrDefault("tokens", 0L),
        c.getOrDefault("padded_tokens", 0L),
        c.getOrDefault("truncated_inputs", 0L),
        batchCount == 0 ? 0 : (double) c.getOrDefault("batch_size.sum", 0L) / batchCount,
        batchCount == 0 ? 0 : (double) c.getOrDefault("batch_latency_ms.sum", 0L) / batchCount,
        peakHeap(),
        peakRss(),
        stillPending,
        java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(workers)),
        error);
  }

  static long peakHeap() {
    long sum = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  /** VmHWM of /proc/self/status: the process's peak resident memory (0 where there is no /proc). */
  static long peakRss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }

  public String format() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("%n=== embedding run: %s ===%n", status));
    sb.append(String.format("model            %s%n", model));
    sb.append(String.format("rows             %d pending at start, %d read: %d embedded, %d skipped, %d failed%s%n",
        pendingAtStart, read, embedded, skipped, failed,
        deferred > 0 ? ", " + deferred + " left pending at --timeout" : ""));
    sb.append(String.format("still pending    %d%n", stillPending));
    sb.append(String.format("wall time        %.1f s, %.1f embeddings/s%n", wallSeconds, embeddingsPerSecond()));
    sb.append(String.format("success rate     %.4f, error rate %.4f%n", successRate(), errorRate()));
    sb.append(String.format("batches          %d (mean %.1f rows, %.0f ms), %d split after an error%n",
        batches, meanBatchSize, meanBatchLatencyMs, batchSplits));
    sb.append(String.format("tokens           %d, padding efficiency %.3f, %d inputs truncated%n",
        tokens, paddingEfficiency(), truncated));
    sb.append(String.format("memory           peak heap %d MiB, peak RSS %d MiB%n", peakHeapBytes >> 20, peakRssBytes >> 20));
    workers.forEach((jvm, w) -> sb.append(String.format("worker JVM       %s: %d embedded, %d model load%s%n",
        jvm, w.rowsEmbedded(), w.modelsLoaded(), w.modelsLoaded() == 1 ? "" : "s")));
    if (error != null) {
      sb.append(String.format("error            %s%n", error));
    }
    return sb.toString();
  }

  /** The report as JSON fields, for --reportFile and a job's metrics. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", status);
    m.put("model", model);
    m.put("wall_seconds", wallSeconds);
    m.put("pending_at_start", pendingAtStart);
    m.put("rows_read", read);
    m.put("rows_embedded", embedded);
    m.put("rows_skipped", skipped);
    m.put("rows_failed", failed);
    m.put("rows_deferred", deferred);
    m.put("still_pending", stillPending);
    m.put("embeddings_per_second", embeddingsPerSecond());
    m.put("success_rate", successRate());
    m.put("error_rate", errorRate());
    m.put("batches", batches);
    m.put("batch_splits", batchSplits);
    m.put("mean_batch_size", meanBatchSize);
    m.put("mean_batch_latency_ms", meanBatchLatencyMs);
    m.put("tokens", tokens);
    m.put("padding_efficiency", paddingEfficiency());
    m.put("truncated_inputs", truncated);
    m.put("peak_heap_bytes", peakHeapBytes);
    m.put("peak_rss_bytes", peakRssBytes);
    Map<String, Object> jvms = new LinkedHashMap<>();
    workers.forEach((jvm, w) -> jvms.put(jvm, Map.of("rows_embedded", w.rowsEmbedded(), "models_loaded", w.modelsLoaded())));
    m.put("worker_jvms", jvms);
    m.put("error", error);
    return m;
  }

  public void writeJson(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), toMap());
  }
}
