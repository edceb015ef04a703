package io.pgembed.options;

/**
 * Options of {@code worker}: the queue's database and options, the model it keeps loaded (its jobs name their own),
 * and the time limit of each job ({@code PGFLOW_TIMEOUT_MS}). A job's run options are the job's parameters.
 */
public interface WorkerOptions extends DatabaseOptions, QueueOptions, ModelOptions, TimeoutOptions {}
