package io.pgembed.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.db.Database;
import io.pgembed.embed.SharedModels;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.FlinkSettings;
import io.pgembed.options.OptionSources;
import io.pgembed.options.WorkerOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import io.pgembed.pipeline.RunStatus;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims jobs from a queue and runs each as one pipeline run, at most {@code --concurrency} at once, renewing their
 * leases while they run. A failed or partial run goes back to the queue after {@code --retryDelayMs} until its
 * attempts are spent. The worker keeps its default model loaded, so /health can say it is ready.
 *
 * <pre>{@code
 * try (JobWorker w = new JobWorker(options, System.getenv())) { w.run(); }
 * }</pre>
 */
public final class JobWorker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JobWorker.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WorkerOptions options;
  private final Map<String, String> env;
  private final UnaryOperator<ModelSpec> models;
  private final Database database;
  private final JobQueue queue;
  private final String name;
  private final ModelLoader defaultModel;
  private final Semaphore slots;
  private final ExecutorService jobs;
  private final ScheduledExecutorService heartbeats;
  private final Set<Long> running = ConcurrentHashMap.newKeySet();
  private final Set<Long> lost = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean stopped = new AtomicBoolean();
  final WorkerStats stats = new WorkerStats();

  /** Counters for /metrics. */
  static final class WorkerStats {
    final AtomicLong jobsSucceeded = new AtomicLong();
    final AtomicLong jobsFailed = new AtomicLong();
    final AtomicLong jobsStopped = new AtomicLong();
    final AtomicLong rowsEmbedded = new AtomicLong();
    final AtomicLong rowsFailed = new AtomicLong();
    volatile double lastJobSeconds;
    volatile double lastJobRowsPerSecond;
  }

  public JobWorker(WorkerOptions options, Map<String, String> env) throws java.sql.SQLException {
    this(options, env, UnaryOperator.identity());
  }

  /** As above; each job's model spec passes through {@code models} (a test wraps it, e.g. to hold its passes). */
  JobWorker(WorkerOptions options, Map<String, String> env, UnaryOperator<ModelSpec> models)
      throws java.sql.SQLException {
    if ("false".equalsIgnoreCase(env.getOrDefault("PGFLOW_ENABLED", "true"))) {
      throw new IllegalArgumentException("PGFLOW_ENABLED=false: the job queue is switched off here; unset it to run a worker");
    }
    if (options.getConcurrency() < 1 || options.getRetries() < 0 || options.getLeaseMs() < 1000) {
      throw new IllegalArgumentException(
          "--concurrency must be >= 1, --retries >= 0 and --leaseMs >= 1000, but were " + options.getConcurrency()
              + ", " + options.getRetries() + ", " + options.getLeaseMs());
    }
    this.options = options;
    this.env = env;
    this.models = models;
    this.database = DatabaseOptions.database(options);
    String tls = database.tlsWarning();
    if (tls != null) {
      LOG.warn(tls);
    }
    this.queue = new JobQueue(database);
    this.name = ManagementFactory.getRuntimeMXBean().getName(); // pid@host
    this.defaultModel = ModelOptions.loaderOf(options);
    SharedModels.acquire(defaultModel);
    this.slots = new Semaphore(options.getConcurrency());
    this.jobs = Executors.newFixedThreadPool(options.getConcurrency(), r -> new Thread(r, "job"));
    this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "lease");
      t.setDaemon(true);
      return t;
    });
    long every = Math.max(200, options.getLeaseMs() / 3);
    heartbeats.scheduleAtFixedRate(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
    LOG.info("Worker {} on queue '{}': concurrency {}, {} retries, lease {} ms", name, options.getQueue(),
        options.getConcurrency(), options.getRetries(), options.getLeaseMs());
  }

  public String name() {
    return name;
  }

  public Database database() {
    return database;
  }

  public JobQueue queue() {
    return queue;
  }

  public WorkerOptions options() {
    return options;
  }

  public boolean modelLoaded() {
    return SharedModels.users(defaultModel) > 0;
  }

  /** Claims and runs jobs until {@link #stop()} (or, with --exitWhenIdle, until the queue is idle). */
  public void run() throws InterruptedException {
    Duration lease = Duration.ofMillis(options.getLeaseMs());
    while (!stopped.get()) {
      slots.acquire();
      Optional<JobQueue.Claimed> job;
      try {
        job = queue.claim(options.getQueue(), name, lease);
      } catch (java.sql.SQLException e) {
        slots.release();
        LOG.warn("Could not claim a job ({}); retrying in {} ms", e.getMessage(), options.getPollMs());
        Thread.sleep(options.getPollMs()); // polling interval of an idle worker, not a wait for a result
        continue;
      }
      if (job.isEmpty()) {
        slots.release();
        if (options.getExitWhenIdle() && running.isEmpty() && queueIsIdle()) {
          return;
        }
        Thread.sleep(options.getPollMs()); // polling interval of an idle worker
        continue;
      }
      JobQueue.Claimed claimed = job.get();
      running.add(claimed.id());
      jobs.submit(() -> {
        try {
          execute(claimed);
        } finally {
          running.remove(claimed.id());
          lost.remove(claimed.id());
          slots.release();
        }
      });
    }
  }

  /** No job queued (even for later) and none running anywhere: a job held by a dead worker still counts. */
  private boolean queueIsIdle() {
    try {
      Map<String, Long> counts = queue.countsByStatus(options.getQueue());
      return counts.get("queued") == 0 && counts.get("running") == 0;
    } catch (java.sql.SQLException e) {
      return false;
    }
  }

  void execute(JobQueue.Claimed job) {
    LOG.info("Job {} attempt {}/{}: {}", job.id(), job.attempts(), job.maxAttempts(), job.args());
    Duration retryDelay = Duration.ofMillis(options.getRetryDelayMs());
    try {
      // What the job may say; the connection is always the worker's own (JobArguments).
      List<String> args = new ArrayList<>(JobArguments.check(job.args(), options, options.getAllowJobSourceQuery()));
      args.addAll(JobArguments.connectionOf(options));
      if (args.stream().noneMatch(a -> a.startsWith("--timeout=")) && options.getTimeout() > 0) {
        args.add("--timeout=" + options.getTimeout());
      }
      args.addAll(FlinkSettings.runnerArgs(options, args));
      EmbeddingPipelineOptions o =
          OptionSources.parse(args.toArray(new String[0]), env, EmbeddingPipelineOptions.class);
      RunReport report =
          EmbeddingPipeline.run(o, models.apply(EmbeddingPipeline.modelSpec(o)), () -> lost.contains(job.id()));
      if (report.status().queueOutcome() == RunStatus.QueueOutcome.NOT_OURS) {
        stats.jobsStopped.incrementAndGet();
        LOG.warn("Job {} was cancelled (or reclaimed) while running: stopped its pipeline", job.id());
        return;
      }
      stats.rowsEmbedded.addAndGet(report.embedded());
      stats.rowsFailed.addAndGet(report.failed());
      stats.lastJobSeconds = report.wallSeconds();
      stats.lastJobRowsPerSecond = report.embeddingsPerSecond();
      String metrics = JSON.writeValueAsString(report.toMap());
      if (report.status().queueOutcome() == RunStatus.QueueOutcome.SUCCEEDED) {
        if (queue.succeed(job.id(), name, metrics)) {
          stats.jobsSucceeded.incrementAndGet();
        } else {
          LOG.warn("Job {} finished but is no longer ours (cancelled or reclaimed): result not recorded", job.id());
        }
      } else {
        String error = report.status() == RunStatus.PARTIAL
            ? "partial: stopped at --timeout=" + o.getTimeout() + " ms, " + report.stillPending() + " rows still pending"
            : "failed: " + report.error();
        recordFailure(job, error, metrics, retryDelay);
      }
    } catch (Exception e) {
      recordFailure(job, e.getClass().getSimpleName() + ": " + e.getMessage(), null, retryDelay);
    }
  }

  private void recordFailure(JobQueue.Claimed job, String error, String metrics, Duration retryDelay) {
    try {
      String status = queue.fail(job.id(), name, error, metrics, retryDelay);
      if ("failed".equals(status)) {
        stats.jobsFailed.incrementAndGet();
      }
      LOG.warn("Job {} attempt {} failed ({}); now {}", job.id(), job.attempts(), error, status);
    } catch (java.sql.SQLException e) {
      // The lease will expire and another worker will run the job again.
      LOG.error("Could not record the failure of job {}: {}", job.id(), e.getMessage());
    }
  }

  private void renewLeases() {
    for (Long id : running) {
      try {
        if (!queue.heartbeat(id, name, Duration.ofMillis(options.getLeaseMs()))) {
          LOG.warn("Job {} is no longer ours (cancelled or reclaimed): stopping it", id);
          lost.add(id);
        }
      } catch (java.sql.SQLException e) {
        LOG.warn("Could not renew the lease of job {}: {}", id, e.getMessage());
      }
    }
  }

  public void stop() {
    stopped.set(true);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
    jobs.shutdown();
    jobs.awaitTermination(1, TimeUnit.HOURS);
    heartbeats.shutdownNow();
    SharedModels.release(defaultModel);
  }
}
