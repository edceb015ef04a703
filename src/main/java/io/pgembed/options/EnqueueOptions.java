package io.pgembed.options;

/**
 * Options of {@code enqueue} and {@code promote}: the queue's options, and a run's options, which become the job's
 * parameters (checked now, so a bad job never reaches a worker).
 */
public interface EnqueueOptions extends EmbeddingPipelineOptions, QueueOptions {}
