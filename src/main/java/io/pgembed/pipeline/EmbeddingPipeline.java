package io.pgembed.pipeline;

import io.pgembed.batch.BatchArtifacts;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.SqlIdentifier;
import io.pgembed.embed.EmbedBatchFn;
import io.pgembed.embed.EmbeddedRow;
import io.pgembed.embed.FailedRow;
import io.pgembed.embed.SharedModels;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.ModelLoader;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.FlinkSettings;
import io.pgembed.options.ModelOptions;
import io.pgembed.read.Artifact;
import io.pgembed.read.ArtifactSource;
import io.pgembed.read.ContinuousSource;
import io.pgembed.write.VectorWriter;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedding job: pending PostgreSQL rows in, vectors upserted back, failures recorded, Beam metrics reported.
 *
 * <pre>{@code
 * EmbeddingPipelineOptions o = OptionSources.parse(args, System.getenv(), EmbeddingPipelineOptions.class);
 * RunReport report = EmbeddingPipeline.run(o);
 * }</pre>
 */
public final class EmbeddingPipeline {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingPipeline.class);

  private EmbeddingPipeline() {}

  /**
   * A checked plan, with the driver's reference to the shared model and what is pending. {@code checkedWith}: the
   * loader of that model (on a remote Flink cluster, the CPU copy), released by close().
   */
  public record Prepared(
      EmbeddingPlan plan, EmbeddingModel model, long pending, Long minId, Long maxId, ModelLoader checkedWith)
      implements AutoCloseable {
    @Override
    public void close() {
      SharedModels.release(checkedWith);
    }
  }

  /**
   * Validates the options and names, loads the model (a wrong --device fails here), creates missing tables and
   * checks the vector column, and counts the pending rows. Nothing is read before this succeeds.
   */
  public static Prepared prepare(EmbeddingPipelineOptions o) throws SQLException {
    if (o.getJdbcUrl() == null) {
      throw new IllegalArgumentException("--jdbcUrl is required, e.g. --jdbcUrl=jdbc:postgresql://localhost:5432/app");
    }
    if (o.getSourceTable() == null) {
      throw new IllegalArgumentException("--sourceTable is required, e.g. --sourceTable=artifacts");
    }
    requirePositive(o.getWriteBatchSize(), "--writeBatchSize");
    requirePositive(o.getMaxAttempts(), "--maxAttempts");
    requirePositive(o.getBatchSize(), "--batchSize");
    if (o.getSamplePercent() < 1 || o.getSamplePercent() > 100) {
      throw new IllegalArgumentException("--samplePercent must be 1 to 100, but was " + o.getSamplePercent());
    }
    if (o.getTimeout() < 0) {
      throw new IllegalArgumentException("--timeout must be >= 0 ms (0: none), but was " + o.getTimeout());
    }
    if (!o.getBatchMode().equals("count") && !o.getBatchMode().equals("tokens")) {
      throw new IllegalArgumentException("--batchMode must be 'count' or 'tokens', but was '" + o.getBatchMode() + "'");
    }
    if (o.getBatchMode().equals("tokens") && o.getMaxBatchTokens() < 1) {
      throw new IllegalArgumentException("--batchMode=tokens needs --maxBatchTokens > 0");
    }
    // Names are checked before any SQL is built or run.
    SqlIdentifier source = SqlIdentifier.table(o.getSourceTable(), "--sourceTable");
    SqlIdentifier idColumn = SqlIdentifier.column(o.getIdColumn(), "--idColumn");
    SqlIdentifier textColumn = SqlIdentifier.column(o.getTextColumn(), "--textColumn");
    SqlIdentifier target = targetTable(o);
    SqlIdentifier embeddingColumn = SqlIdentifier.column(o.getEmbeddingColumn(), "--embeddingColumn");
    SqlIdentifier failures = SqlIdentifier.table(o.getFailuresTable(), "--failuresTable");
    Database database = new Database(o.getJdbcUrl(), o.getUsername(), o.getPasswordFile());

    ModelLoader loader = ModelOptions.loaderOf(o);
    // The client needs the model's fingerprint and dimension. Where the workers are other processes (a Flink
    // cluster), it loads the model on the CPU: the client (on Kubernetes, the JobManager) may have no GPU.
    ModelLoader checkedWith = FlinkSettings.runsOnRemoteCluster(o) ? loader.onCpu() : loader;
    EmbeddingModel model = SharedModels.acquire(checkedWith);
    try (Connection c = database.connect()) {
      EmbeddingSchema.Layout layout =
          EmbeddingSchema.prepare(
              c, source, idColumn, textColumn, o.getSourceQuery(), target, embeddingColumn, failures, model.dimension());
      EmbeddingPlan plan =
          new EmbeddingPlan(
              database, source, idColumn, textColumn, o.getSourceQuery(), target, embeddingColumn, failures, layout,
              loader, model.fingerprint().toString(), o.getMaxAttempts(), o.getSamplePercent());
      long pending;
      Long min = null;
      Long max = null;
      try (Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  layout.numericId()
                      ? "SELECT count(*), min(id), max(id) FROM (" + plan.pendingQuery() + ") p"
                      : plan.countPendingQuery())) {
        rs.next();
        pending = rs.getLong(1);
        if (layout.numericId() && pending > 0) {
          min = rs.getLong(2);
          max = rs.getLong(3);
        }
      }
      LOG.info("{} rows of {} are pending for {}", pending, source, plan.fingerprint());
      return new Prepared(plan, model, pending, min, max, checkedWith);
    } catch (SQLException | RuntimeException e) {
      SharedModels.release(checkedWith);
      throw e;
    }
  }

  /** --targetTable, or {@code <sourceTable>_embeddings}. */
  public static SqlIdentifier targetTable(EmbeddingPipelineOptions o) {
    return o.getTargetTable() == null
        ? SqlIdentifier.table(o.getSourceTable(), "--sourceTable").withSuffix("_embeddings")
        : SqlIdentifier.table(o.getTargetTable(), "--targetTable");
  }

  /** Applies the job's steps to {@code pipeline}. */
  public static void build(Pipeline pipeline, Prepared prepared, EmbeddingPipelineOptions o) {
    EmbeddingPlan plan = prepared.plan();
    int workers = o.getWorkers();
    int partitions = o.getReadPartitions() > 0 ? o.getReadPartitions() : 2 * workers;
    Duration buffering = Duration.millis(o.getMaxBufferingMs());
    // 1. Read the pending rows: once, or (--continuous) every --pollInterval.
    PCollection<Artifact> pending;
    if (o.getContinuous()) {
      Duration poll = parseDuration(o.getPollInterval(), "--pollInterval");
      Duration inFlight = poll.multipliedBy(20).isLongerThan(Duration.standardMinutes(5))
          ? poll.multipliedBy(20) : Duration.standardMinutes(5);
      pending = pipeline.apply("Poll pending rows", new ContinuousSource(plan, poll, inFlight));
    } else {
      pending =
          pipeline.apply("Read pending rows", new ArtifactSource(plan, partitions, prepared.minId(), prepared.maxId()));
    }
    // 2. Batch them.
    PCollection<KV<Integer, Iterable<Artifact>>> batches =
        pending.apply(
            "Batch",
            o.getBatchMode().equals("tokens")
                ? BatchArtifacts.byTokens(
                    o.getMaxBatchTokens(), prepared.model().fingerprint().maxLength(), workers, o.getLengthBuckets(),
                    buffering)
                : BatchArtifacts.bySize(o.getBatchSize(), workers, o.getLengthBuckets(), buffering));
    // 3. Embed, one shared model per worker JVM.
    PCollectionTuple embedded =
        batches.apply(
            "Embed",
            ParDo.of(
                    new EmbedBatchFn(
                        plan.loader(), o.getBatchSize(), o.getMaxBatchTokens(), o.getFailOnTextMatching(),
                        o.getTimeout() > 0 && !o.getContinuous() ? System.currentTimeMillis() + o.getTimeout() : 0))
                .withOutputTags(EmbedBatchFn.EMBEDDED, TupleTagList.of(EmbedBatchFn.FAILED)));
    // 4. Upsert the vectors.
    embedded
        .get(EmbedBatchFn.EMBEDDED)
        .setCoder(SerializableCoder.of(EmbeddedRow.class))
        .apply("Write vectors", VectorWriter.vectors(plan, o.getWriteBatchSize()));
    // 5. Record failed and skipped rows.
    embedded
        .get(EmbedBatchFn.FAILED)
        .setCoder(SerializableCoder.of(FailedRow.class))
        .apply("Record failures", VectorWriter.failures(plan, o.getWriteBatchSize()));
  }

  /** Prepares, builds and runs on the runner the options name, and returns the report. */
  public static RunReport run(EmbeddingPipelineOptions o) throws SQLException, IOException {
    return run(o, () -> false);
  }

  /** As above, cancelled when {@code stopRequested} turns true (a job cancelled in the queue). */
  public static RunReport run(EmbeddingPipelineOptions o, java.util.function.BooleanSupplier stopRequested)
      throws SQLException, IOException {
    try (Prepared prepared = prepare(o)) {
      Pipeline pipeline = Pipeline.create(o);
      build(pipeline, prepared, o);
      return execute(pipeline, prepared, o, stopRequested);
    }
  }

  /** After --timeout, batches already running may finish and drain; past this grace the run is cancelled. */
  static final long CANCEL_GRACE_MS = 60_000;

  /**
   * Runs a built pipeline: progress lines with --verbose, a clean stop at --timeout, then the report. At the
   * deadline the embed step stops embedding (later batches stay pending) and what was embedded drains into the
   * target; only if that takes longer than {@link #CANCEL_GRACE_MS} is the run cancelled. Either way the report
   * says partial, written rows stay, and the rest stays pending for the next run.
   */
  public static RunReport execute(Pipeline pipeline, Prepared prepared, EmbeddingPipelineOptions o) throws IOException {
    return execute(pipeline, prepared, o, () -> false);
  }

  /** As above; when {@code stopRequested} turns true the run is cancelled and reported as {@code cancelled}. */
  public static RunReport execute(
      Pipeline pipeline, Prepared prepared, EmbeddingPipelineOptions o, java.util.function.BooleanSupplier stopRequested)
      throws IOException {
    long start = System.nanoTime();
    PipelineResult result;
    try {
      // On the DirectRunner this returns at once; Flink's batch runs return when the job has ended.
      result = start(pipeline);
    } catch (RuntimeException e) {
      String error = rootMessage(e);
      LOG.error("The pipeline failed: {}", error, e);
      return report("failed", error, null, prepared, o, start);
    }
    if (o.getContinuous()) {
      // A continuous run ends by --timeout or by a signal: stop the pipeline, then report.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          result.cancel();
        } catch (IOException | RuntimeException e) {
          LOG.warn("Could not cancel the continuous run: {}", e.toString());
        }
      }));
    }
    ScheduledExecutorService progress = null;
    if (o.getVerbose()) {
      progress = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "progress");
        t.setDaemon(true);
        return t;
      });
      progress.scheduleAtFixedRate(() -> printProgress(result, prepared.pending(), start), 5, 5, TimeUnit.SECONDS);
    }
    String status;
    String error = null;
    try {
      long wait = o.getContinuous() ? o.getTimeout() : o.getTimeout() + CANCEL_GRACE_MS;
      long deadline = o.getTimeout() > 0 ? System.currentTimeMillis() + wait : Long.MAX_VALUE;
      PipelineResult.State state = null;
      boolean stop = false;
      // Wait in steps of a second, so that a stop request (a cancelled job) is noticed.
      for (long left; (left = deadline - System.currentTimeMillis()) > 0; ) {
        state = waitStep(result, Math.min(1000, left));
        if ((state != null && state.isTerminal()) || (stop = stopRequested.getAsBoolean())) {
          break;
        }
      }
      if (stop && (state == null || !state.isTerminal())) {
        LOG.warn("Stop requested: cancelling the run; written rows stay, the rest stays pending");
        result.cancel();
        status = "cancelled";
      } else if (state == null || !state.isTerminal()) {
        result.cancel();
        if (o.getContinuous()) {
          LOG.info("--timeout={} ms: stopping the continuous run; written rows stay", o.getTimeout());
          status = "stopped";
        } else {
          LOG.warn("--timeout={} ms: the run did not drain in time, cancelled; written rows stay", o.getTimeout());
          status = "partial";
        }
      } else if (state != PipelineResult.State.DONE) {
        status = "failed";
      } else {
        status = RunReport.counters(result).getOrDefault("rows_deferred", 0L) > 0 ? "partial" : "complete";
      }
    } catch (RuntimeException e) {
      status = "failed";
      error = rootMessage(e);
      LOG.error("The pipeline failed: {}", error, e);
    } finally {
      if (progress != null) {
        progress.shutdownNow();
      }
    }
    return report(status, error, result, prepared, o, start);
  }

  /**
   * Waits up to {@code millis} for the run to end. A detached Flink run (continuous mode) is polled for its state:
   * its waitUntilFinish sleeps in steps of --jobCheckIntervalInSecs and warns at every short wait.
   */
  private static PipelineResult.State waitStep(PipelineResult result, long millis) {
    if (result instanceof org.apache.beam.runners.flink.FlinkDetachedRunnerResult) {
      PipelineResult.State state = result.getState();
      if (!state.isTerminal()) {
        try {
          Thread.sleep(millis); // the step between two looks at the job's state
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return state;
    }
    return result.waitUntilFinish(Duration.millis(millis));
  }

  private static RunReport report(
      String status, String error, PipelineResult result, Prepared prepared, EmbeddingPipelineOptions o, long start)
      throws IOException {
    double wall = (System.nanoTime() - start) / 1e9;
    RunReport report =
        RunReport.of(status, prepared.plan().fingerprint(), wall, prepared.pending(),
            result == null ? Map.of() : RunReport.counters(result), stillPending(prepared),
            result == null ? Map.of() : RunReport.workers(result), error);
    System.out.print(report.format());
    if (o.getReportFile() != null) {
      report.writeJson(java.nio.file.Path.of(o.getReportFile()));
    }
    return report;
  }

  private static long stillPending(Prepared prepared) {
    try (Connection c = prepared.plan().database().connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(prepared.plan().countPendingQuery())) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      LOG.warn("Could not count the rows still pending: {}", e.getMessage());
      return -1;
    }
  }

  private static void printProgress(PipelineResult result, long total, long start) {
    try {
      Map<String, Long> c = RunReport.counters(result);
      long done = c.getOrDefault("rows_embedded", 0L) + c.getOrDefault("rows_skipped", 0L) + c.getOrDefault("rows_failed", 0L);
      double seconds = (System.nanoTime() - start) / 1e9;
      double rate = done / Math.max(seconds, 1e-9);
      String eta = rate > 0 && total > done ? String.format("%.0f s", (total - done) / rate) : "-";
      System.out.printf("progress: %d/%d rows, %.1f rows/s, ETA %s%n", done, total, rate, eta);
    } catch (RuntimeException e) {
      LOG.debug("no progress metrics yet: {}", e.toString());
    }
  }

  /** {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
  public static Duration parseDuration(String value, String option) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(value == null ? "" : value.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must look like 500ms, 5s, 2m or 1h, but was '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.millis(n);
      case "s" -> Duration.standardSeconds(n);
      case "m" -> Duration.standardMinutes(n);
      default -> Duration.standardHours(n);
    };
  }

  /** Starts a built pipeline without waiting for it (for --continuous): stop it with {@code cancel()}. */
  public static PipelineResult start(Pipeline pipeline) {
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    return pipeline.run();
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  private static void requirePositive(Integer v, String option) {
    if (v == null || v < 1) {
      throw new IllegalArgumentException(option + " must be >= 1, but was " + v);
    }
  }
}
