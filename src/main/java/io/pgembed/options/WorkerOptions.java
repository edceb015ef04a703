package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/**
 * Options of {@code worker}: the queue's database and options, the model it keeps loaded (its jobs name their own),
 * and the time limit of each job ({@code PGFLOW_TIMEOUT_MS}). A job's run options are the job's parameters; its
 * connection (URL, user, password source, pool size) is always the worker's.
 */
public interface WorkerOptions extends DatabaseOptions, QueueOptions, ModelOptions, TimeoutOptions {
  @Description(
      "Run jobs that carry a --sourceQuery. Off by default: such a query is SQL run as the worker's database role,"
          + " so allow it only when every writer of the jobs table may do that. Queries are read in read-only"
          + " transactions either way.")
  @Default.Boolean(false)
  Boolean getAllowJobSourceQuery();

  void setAllowJobSourceQuery(Boolean value);
}
