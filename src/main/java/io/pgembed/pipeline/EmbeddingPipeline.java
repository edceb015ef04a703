package io.pgembed.pipeline;

import io.pgembed.capture.ChangeCapture;
import io.pgembed.db.RowKey;
import io.pgembed.embed.EmbedTexts;
import io.pgembed.model.ModelSpec;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.FlinkSettings;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.RunOptions;
import java.io.IOException;
import java.sql.SQLException;
import java.util.function.BooleanSupplier;
import org.apache.beam.sdk.Pipeline;
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

  public static RunReport run(EmbeddingPipelineOptions o) throws SQLException, IOException {
    return run(o, () -> false);
  }

  /** As {@link #run(EmbeddingPipelineOptions)}; cancelled when {@code stopRequested} turns true. */
  public static RunReport run(EmbeddingPipelineOptions o, BooleanSupplier stopRequested)
      throws SQLException, IOException {
    return run(o, modelSpec(o), stopRequested);
  }

  /**
   * As above, with {@code spec}'s model. A continuous run with {@code --changeCapture=trigger} first drains the
   * change log in a batch run (the model's one full scan, when it has not made it yet), then goes on from the log.
   */
  public static RunReport run(EmbeddingPipelineOptions o, ModelSpec spec, BooleanSupplier stopRequested)
      throws SQLException, IOException {
    if (o.getContinuous() && o.getChangeCapture() == ChangeCapture.TRIGGER) {
      o.setContinuous(false);
      RunReport drained;
      try (FlinkSettings.Restore batch = FlinkSettings.asBatchRun(o);
          Preflight.Checked checked = Preflight.check(o, spec)) {
        drained = run(checked, o, stopRequested);
      } finally {
        o.setContinuous(true);
      }
      if (drained.status() != RunStatus.COMPLETE) {
        return drained;
      }
    }
    // 0. Check the options, the model and the tables; count what is pending.
    try (Preflight.Checked checked = Preflight.check(o, spec)) {
      return run(checked, o, stopRequested);
    }
  }

  /** Runs the job for tables and a model already checked (a test passes its own model's). */
  public static RunReport run(Preflight.Checked checked, EmbeddingPipelineOptions o, BooleanSupplier stopRequested)
      throws IOException {
    // 1. Read the pending rows, 2. chunk or measure them, 3. group and embed them, 4. upsert the vectors, 5. record
    // the failures: wave by wave (at most --maxInFlightRows) on the DirectRunner. 6. Run to the end, --timeout or a
    // stop; settle (AfterRun) and report.
    return RunController.execute(checked, o, stopRequested, (wave, deadline) -> {
      Pipeline pipeline = Pipeline.create(o);
      pipeline.apply("Embed pending rows", embedPendingRows(checked, o, deadline)
          .withKeyRange(wave.range())
          .withReadTime(wave.readAtMicros())
          .withPartitions(readPartitions(o), wave.minId(), wave.maxId()));
      return pipeline;
    });
  }

  /** The model the options name. */
  public static ModelSpec modelSpec(EmbeddingPipelineOptions o) {
    return ModelOptions.loaderOf(o);
  }

  /** The job's transform, configured by the options for the checked tables and model; --timeout counts from now. */
  public static EmbedPendingRows embedPendingRows(Preflight.Checked checked, EmbeddingPipelineOptions o) {
    return embedPendingRows(checked, o, o.getTimeout() > 0 ? System.currentTimeMillis() + o.getTimeout() : 0);
  }

  /** As above, with the run's deadline (epoch ms, 0: none): groups after it are left pending. */
  static EmbedPendingRows embedPendingRows(Preflight.Checked checked, EmbeddingPipelineOptions o, long deadline) {
    EmbedTexts<RowKey> embedding =
        EmbedTexts.<RowKey>using(checked.spec())
            .withBatchSize(o.getBatchSize())
            .withMaxBatchTokens(o.getMaxBatchTokens())
            .withBatchMode(o.getBatchMode(), checked.model().fingerprint().maxLength())
            .withShards(o.getWorkers())
            .withLengthBuckets(o.getLengthBuckets())
            .withMeasuring(checked.documents() == null)
            .withMaxBuffering(Duration.millis(o.getMaxBufferingMs()))
            .withDeadline(o.getContinuous() ? 0 : deadline);
    EmbedPendingRows job =
        EmbedPendingRows.from(checked.database(), checked.tables(), checked.layout(), checked.fingerprint())
            .withEmbedding(embedding)
            .withPartitions(readPartitions(o), checked.minId(), checked.maxId())
            .withWriteBatchSize(o.getWriteBatchSize())
            .withWriteMethod(checked.writeMethod())
            .withDocuments(checked.documents());
    if (!o.getContinuous()) {
      return job;
    }
    job = job.withPolling(RunOptions.pollInterval(o), o.getMaxInFlightRows());
    return checked.drain() != null
        ? job.withChangeLog(checked.drain(), o.getPruneDeleted())
        : job.withPruning(o.getPruneDeleted() ? RunOptions.pruneInterval(o) : null);
  }

  private static int readPartitions(EmbeddingPipelineOptions o) {
    return o.getReadPartitions() > 0 ? o.getReadPartitions() : 2 * o.getWorkers();
  }
}
