package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * The job queue's own options ({@code enqueue}, {@code status}, {@code cancel}, {@code worker}), never passed on to a
 * job. The queue lives in the database of {@code --jdbcUrl}. Environment variables are defaults:
 * {@code PGFLOW_QUEUE_NAME}, {@code PGFLOW_CONCURRENCY}, {@code PGFLOW_RETRIES}, {@code PGFLOW_TIMEOUT_MS};
 * {@code PGFLOW_ENABLED=false} stops a worker from starting.
 */
public interface QueueOptions extends PipelineOptions {
  @Description("The queue's name. Env: PGFLOW_QUEUE_NAME.")
  @Default.String("embeddings")
  String getQueue();

  void setQueue(String value);

  @Description("Jobs one worker runs at once. Env: PGFLOW_CONCURRENCY.")
  @Default.Integer(1)
  Integer getConcurrency();

  void setConcurrency(Integer value);

  @Description("Retries of a failed job (so 1 + retries attempts in all). Env: PGFLOW_RETRIES.")
  @Default.Integer(3)
  Integer getRetries();

  void setRetries(Integer value);

  @Description("Wait before a failed job runs again, in ms.")
  @Default.Long(5000)
  Long getRetryDelayMs();

  void setRetryDelayMs(Long value);

  @Description("A running job's lease, in ms, renewed every third of it; a dead worker's job is reclaimed after it.")
  @Default.Long(30000)
  Long getLeaseMs();

  void setLeaseMs(Long value);

  @Description("How often an idle worker looks for jobs, in ms.")
  @Default.Long(1000)
  Long getPollMs();

  void setPollMs(Long value);

  @Description("Port of the worker's /health and /metrics (0: none).")
  @Default.Integer(8080)
  Integer getPort();

  void setPort(Integer value);

  @Description("Stop the worker once the queue has no queued and no running job (for batch use and tests).")
  @Default.Boolean(false)
  Boolean getExitWhenIdle();

  void setExitWhenIdle(Boolean value);

  @Description("The job id, for cancel.")
  Long getJob();

  void setJob(Long value);
}
