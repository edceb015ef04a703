package io.pgembed.pipeline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgembed.capture.ChangeLog;
import io.pgembed.metrics.EmbeddingMetrics;
import io.pgembed.metrics.EmbeddingMetrics.WorkerJvm;
import io.pgembed.metrics.JvmMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The end-of-run report: the run's {@link RunStatus}, its Beam metrics ({@link EmbeddingMetrics.Snapshot}), wall
 * time and this process's memory. Printed, and as JSON in {@code --reportFile} and a queue job's metrics; the JSON
 * field names are a contract.
 */
public record RunReport(
    RunStatus status,
    String model,
    double wallSeconds,
    long pendingAtStart,
    long prunedAtStart,
    EmbeddingMetrics.Snapshot metrics,
    long peakHeapBytes,
    long peakRssBytes,
    long stillPending,
    int waves,
    long largestWaveRows,
    String error,
    AfterRun.IndexBuild index,
    ChangeLog.Depth changeLog) {

  static RunReport of(
      RunStatus status, String model, double wallSeconds, long pendingAtStart, long prunedAtStart,
      EmbeddingMetrics.Snapshot metrics, long stillPending, int waves, long largestWaveRows, String error,
      AfterRun.IndexBuild index, ChangeLog.Depth changeLog) {
    return new RunReport(status, model, wallSeconds, pendingAtStart, prunedAtStart, metrics, JvmMemory.peakHeap(),
        JvmMemory.peakRss(), stillPending, waves, largestWaveRows, error, index, changeLog);
  }

  /** Vectors not written because a component was NaN or infinite, or the vector was all zeros. */
  public long rejectedVectors() {
    return metrics.vectorsRejected();
  }

  /** Vectors removed because their row left the source: at the start, and by continuous mode's pruning. */
  public long pruned() {
    return prunedAtStart + metrics.rowsPruned();
  }

  public long read() {
    return metrics.rowsRead();
  }

  public long embedded() {
    return metrics.rowsEmbedded();
  }

  public long skipped() {
    return metrics.rowsSkipped();
  }

  public long failed() {
    return metrics.rowsFailed();
  }

  /** Rows left pending because they reached the model after --timeout. */
  public long deferred() {
    return metrics.rowsDeferred();
  }

  public long forwardPasses() {
    return metrics.forwardPasses();
  }

  /** Groups that GroupIntoBatches formed (each embedded in one or more forward passes). */
  public long groups() {
    return metrics.groups();
  }

  /** Groups split in halves after the model threw on them. */
  public long groupSplits() {
    return metrics.groupSplits();
  }

  public long tokens() {
    return metrics.tokens();
  }

  public long paddedTokens() {
    return metrics.paddedTokens();
  }

  public long truncated() {
    return metrics.truncatedInputs();
  }

  public Map<String, WorkerJvm> workers() {
    return metrics.workers();
  }

  public double meanGroupSize() {
    return metrics.groups() == 0 ? 0 : (double) metrics.groupRows() / metrics.groups();
  }

  public double meanGroupLatencyMs() {
    return metrics.groups() == 0 ? 0 : (double) metrics.groupLatencyMsSum() / metrics.groups();
  }

  /** The model's busy time (forward passes) over the wall time: how much of the run the model worked. */
  public double modelBusyFraction() {
    return wallSeconds > 0 ? metrics.modelBusyMicros() / 1e6 / wallSeconds : 0;
  }

  public double embeddingsPerSecond() {
    return wallSeconds > 0 ? embedded() / wallSeconds : 0;
  }

  /** What was embedded or failed one by one: the chunks with --chunking=tokens, else the rows read. */
  private long units() {
    return metrics.chunks() > 0 ? metrics.chunks() : read();
  }

  public double successRate() {
    return units() == 0 ? 1 : (double) embedded() / units();
  }

  public double errorRate() {
    return units() == 0 ? 0 : (double) failed() / units();
  }

  /** Tokens some vector covers over the documents' tokens: 1.0 with chunking, below it where texts were truncated. */
  public double tokenCoverage() {
    return metrics.sourceTokens() == 0 ? 1 : (double) metrics.coveredTokens() / metrics.sourceTokens();
  }

  public double meanChunksPerDocument() {
    return metrics.documents() == 0 || metrics.chunks() == 0 ? 0 : (double) metrics.chunks() / metrics.documents();
  }

  public double paddingEfficiency() {
    return paddedTokens() == 0 ? 1 : (double) tokens() / paddedTokens();
  }

  public String format() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format("%n=== embedding run: %s ===%n", status));
    sb.append(String.format("model            %s%n", model));
    sb.append(String.format("rows             %d pending at start, %d read: %d %sembedded, %d skipped, %d failed%s%n",
        pendingAtStart, read(), embedded(), metrics.chunks() > 0 ? "chunks " : "", skipped(), failed(),
        deferred() > 0 ? ", " + deferred() + " left pending at --timeout" : ""));
    sb.append(String.format("still pending    %d%n", stillPending));
    if (pruned() > 0) {
      sb.append(String.format("pruned           %d vectors of rows no longer in the source%n", pruned()));
    }
    if (waves > 1) {
      sb.append(String.format("waves            %d, at most %d rows in flight%n", waves, largestWaveRows));
    }
    sb.append(String.format("wall time        %.1f s, %.1f embeddings/s%n", wallSeconds, embeddingsPerSecond()));
    sb.append(String.format("success rate     %.4f, error rate %.4f%n", successRate(), errorRate()));
    sb.append(String.format("groups           %d (mean %.1f rows, %.0f ms), %d split after an error%n",
        groups(), meanGroupSize(), meanGroupLatencyMs(), groupSplits()));
    sb.append(String.format("forward passes   %d, %d tokens, padding efficiency %.3f, %d inputs truncated%n",
        forwardPasses(), tokens(), paddingEfficiency(), truncated()));
    if (metrics.documents() > 0) {
      sb.append(String.format("documents        %d%s; tokens covered %d of %d (%.3f)%n", metrics.documents(),
          metrics.chunks() > 0 ? String.format(", cut into %d chunks (%.2f per document)", metrics.chunks(),
              meanChunksPerDocument()) : "", metrics.coveredTokens(), metrics.sourceTokens(), tokenCoverage()));
    }
    sb.append(String.format("model busy       %.1f s, %.2f of the wall time%n", metrics.modelBusyMicros() / 1e6,
        modelBusyFraction()));
    sb.append(String.format("memory           peak heap %d MiB, peak RSS %d MiB (this process)%n",
        peakHeapBytes >> 20, peakRssBytes >> 20));
    workers().forEach((jvm, w) -> sb.append(String.format(
        "worker JVM       %s: %d embedded, %d model load%s, peak heap %d MiB, peak RSS %d MiB%n", jvm,
        w.rowsEmbedded(), w.modelsLoaded(), w.modelsLoaded() == 1 ? "" : "s", w.peakHeapBytes() >> 20,
        w.peakRssBytes() >> 20)));
    if (rejectedVectors() > 0) {
      sb.append(String.format("rejected         %d vectors with NaN, infinite or all-zero components (recorded as"
          + " failures, not written)%n", rejectedVectors()));
    }
    if (changeLog != null) {
      sb.append(String.format("change log       %d entries queued, the oldest %.1f s old%n", changeLog.entries(),
          changeLog.oldestSeconds()));
    }
    if (index != null) {
      sb.append(index.built()
          ? String.format("index            built %s (HNSW, cosine) in %.1f s%n", index.name(), index.seconds())
          : String.format("index            %s (HNSW) already existed%n", index.name()));
    }
    if (error != null) {
      sb.append(String.format("error            %s%n", error));
    }
    return sb.toString();
  }

  /**
   * The report as JSON fields, for --reportFile and a job's metrics. {@code batches} (forward passes),
   * {@code batch_splits} and {@code mean_batch_size}/{@code mean_batch_latency_ms} (per group) keep their names from
   * earlier releases; {@code forward_passes}, {@code groups} and {@code group_splits} say the same plainly.
   */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", status.label());
    m.put("model", model);
    m.put("wall_seconds", wallSeconds);
    m.put("pending_at_start", pendingAtStart);
    m.put("rows_read", read());
    m.put("rows_embedded", embedded());
    m.put("rows_skipped", skipped());
    m.put("rows_failed", failed());
    m.put("rows_deferred", deferred());
    m.put("still_pending", stillPending);
    m.put("rows_pruned", pruned());
    m.put("waves", waves);
    m.put("largest_wave_rows", largestWaveRows);
    m.put("embeddings_per_second", embeddingsPerSecond());
    m.put("success_rate", successRate());
    m.put("error_rate", errorRate());
    m.put("batches", forwardPasses());
    m.put("batch_splits", groupSplits());
    m.put("mean_batch_size", meanGroupSize());
    m.put("mean_batch_latency_ms", meanGroupLatencyMs());
    m.put("forward_passes", forwardPasses());
    m.put("groups", groups());
    m.put("group_splits", groupSplits());
    m.put("tokens", tokens());
    m.put("padding_efficiency", paddingEfficiency());
    m.put("truncated_inputs", truncated());
    m.put("model_busy_seconds", metrics.modelBusyMicros() / 1e6);
    m.put("vectors_rejected", rejectedVectors());
    m.put("documents", metrics.documents());
    m.put("chunks", metrics.chunks());
    m.put("mean_chunks_per_document", meanChunksPerDocument());
    m.put("source_tokens", metrics.sourceTokens());
    m.put("covered_tokens", metrics.coveredTokens());
    m.put("token_coverage", tokenCoverage());
    m.put("hnsw_index", index == null ? null : index.name());
    m.put("index_build_seconds", index == null || !index.built() ? null : index.seconds());
    m.put("change_log_entries", changeLog == null ? null : changeLog.entries());
    m.put("change_log_oldest_seconds", changeLog == null ? null : changeLog.oldestSeconds());
    m.put("peak_heap_bytes", peakHeapBytes);
    m.put("peak_rss_bytes", peakRssBytes);
    Map<String, Object> jvms = new LinkedHashMap<>();
    workers().forEach((jvm, w) -> jvms.put(jvm, Map.of("rows_embedded", w.rowsEmbedded(),
        "models_loaded", w.modelsLoaded(), "peak_heap_bytes", w.peakHeapBytes(), "peak_rss_bytes", w.peakRssBytes())));
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
