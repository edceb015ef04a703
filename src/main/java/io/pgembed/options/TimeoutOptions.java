package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** How long a run may take: the run's own limit, or a queue worker's limit for each job. */
public interface TimeoutOptions extends PipelineOptions {
  @Description("Cancel the run after this many ms (0: never); what was written stays, the rest stays pending. Env: EMBEDDING_TIMEOUT_MS.")
  @Default.Long(0)
  Long getTimeout();

  void setTimeout(Long value);
}
