package io.pgembed.options;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Flink runner's settings for an embedding job: documented defaults for the restart strategy and, in continuous
 * mode, checkpointing, and the translation that makes the restart strategy apply to batch runs.
 *
 * <p>Defaults, each overridable on the command line (Beam's own option names):
 *
 * <ul>
 *   <li>{@code --numberOfExecutionRetries=3} and {@code --executionRetryDelay=10000} (ms): a fixed-delay restart
 *       strategy. A batch job on Flink is otherwise not restarted at all (no checkpointing means Flink's "none"
 *       strategy). Restarting is safe here: the writes are upserts keyed by the row id and a restarted read only sees
 *       rows still pending, so a restart never duplicates a row. {@code 0} turns restarts off; {@code -1} leaves
 *       the choice to the cluster's configuration ({@code restart-strategy.*}).
 *   <li>{@code --useDataStreamForBatch=true}: batch runs are translated to Flink's DataStream API in BATCH mode.
 *       Beam 2.62's other batch translation (the DataSet API, deprecated by Flink and gone in Flink 2) ignores
 *       {@code --numberOfExecutionRetries}: such a job runs with the cluster's strategy, "none" by default. Found
 *       on the real cluster: a killed TaskManager failed the DataSet job with "Recovery is suppressed by
 *       NoRestartBackoffTimeStrategy", while the DataStream job restarted under FixedDelayRestartBackoffTimeStrategy.
 *   <li>{@code --checkpointingInterval=60000} (ms) for continuous runs (streaming); batch runs do not checkpoint.
 *   <li>{@code --attachedMode=false} for continuous runs: the client submits the job and watches it, so that
 *       {@code --timeout} and SIGTERM cancel it (an attached streaming submission only returns when the job ends).
 *   <li>{@code --parallelism}: Beam's option; unset, the cluster's {@code parallelism.default} applies.
 * </ul>
 */
public final class FlinkSettings {
  private static final Logger LOG = LoggerFactory.getLogger(FlinkSettings.class);
  public static final int DEFAULT_RESTART_ATTEMPTS = 3;
  public static final long DEFAULT_RESTART_DELAY_MS = 10_000;
  public static final long DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

  private FlinkSettings() {}

  public static boolean isFlink(PipelineOptions o) {
    return o.getRunner() != null && o.getRunner().getSimpleName().equals("FlinkRunner");
  }

  /**
   * A queue worker started on Flink ({@code runners/flink.sh worker ...}) submits its jobs to the same cluster:
   * the runner, master, staged files and parallelism of the worker's options, as arguments for a job whose own
   * arguments ({@code jobArgs}) do not name them. Empty when the worker does not run on Flink.
   */
  public static List<String> runnerArgs(PipelineOptions worker, List<String> jobArgs) {
    List<String> out = new ArrayList<>();
    if (!isFlink(worker) || jobArgs.stream().anyMatch(a -> a.startsWith("--runner="))) {
      return out;
    }
    FlinkPipelineOptions f = worker.as(FlinkPipelineOptions.class);
    out.add("--runner=FlinkRunner");
    out.add("--flinkMaster=" + f.getFlinkMaster());
    if (f.getFilesToStage() != null && !f.getFilesToStage().isEmpty()) {
      out.add("--filesToStage=" + String.join(",", f.getFilesToStage()));
    }
    if (f.getParallelism() != null && f.getParallelism() > 0
        && jobArgs.stream().noneMatch(a -> a.startsWith("--parallelism="))) {
      out.add("--parallelism=" + f.getParallelism());
    }
    return out;
  }

  /**
   * While open, a continuous run's options describe a batch run on Flink (attached, no checkpointing): for the
   * batch drain that starts a continuous --changeCapture=trigger run. Closing restores them; nothing unless Flink.
   */
  /** What {@link #asBatchRun} returns: closing restores the options, and throws nothing. */
  public interface Restore extends AutoCloseable {
    @Override
    void close();
  }

  public static Restore asBatchRun(PipelineOptions o) {
    if (!isFlink(o)) {
      return () -> {};
    }
    FlinkPipelineOptions f = o.as(FlinkPipelineOptions.class);
    Boolean attached = f.getAttachedMode();
    Long checkpointing = f.getCheckpointingInterval();
    f.setAttachedMode(true);
    f.setCheckpointingInterval(-1L);
    return () -> {
      f.setAttachedMode(attached);
      f.setCheckpointingInterval(checkpointing);
    };
  }

  /** True when the pipeline's workers are other JVMs: Flink with a master other than [local]. */
  public static boolean runsOnRemoteCluster(PipelineOptions o) {
    return isFlink(o) && !"[local]".equals(o.as(FlinkPipelineOptions.class).getFlinkMaster());
  }

  /** The defaults above, for the options not in {@code given}; nothing unless the runner is Flink. */
  public static void applyDefaults(PipelineOptions o, Set<String> given, boolean continuous) {
    if (!isFlink(o)) {
      return;
    }
    FlinkPipelineOptions f = o.as(FlinkPipelineOptions.class);
    if (!given.contains("numberOfExecutionRetries")) {
      f.setNumberOfExecutionRetries(DEFAULT_RESTART_ATTEMPTS);
    }
    if (!given.contains("executionRetryDelay")) {
      f.setExecutionRetryDelay(DEFAULT_RESTART_DELAY_MS);
    }
    if (!given.contains("useDataStreamForBatch")) {
      f.setUseDataStreamForBatch(true);
    } else if (!Boolean.TRUE.equals(f.getUseDataStreamForBatch()) && !continuous
        && f.getNumberOfExecutionRetries() != null && f.getNumberOfExecutionRetries() >= 0) {
      LOG.warn("--useDataStreamForBatch=false: Beam's DataSet translation ignores --numberOfExecutionRetries={};"
          + " this batch run restarts only as the cluster's restart-strategy says", f.getNumberOfExecutionRetries());
    }
    if (continuous && !given.contains("checkpointingInterval")) {
      f.setCheckpointingInterval(DEFAULT_CHECKPOINT_INTERVAL_MS);
    }
    if (continuous && !given.contains("attachedMode")) {
      // An attached streaming run blocks the client until the job ends, so --timeout and SIGTERM could not stop it.
      f.setAttachedMode(false);
    }
    if (!given.contains("jobName") && !given.contains("appName")) {
      f.setJobName("pg-embeddings-" + (continuous ? "continuous-" : "") + System.currentTimeMillis());
    }
  }
}
