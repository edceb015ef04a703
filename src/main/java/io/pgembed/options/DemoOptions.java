package io.pgembed.options;

/** Options of {@code demo}: a run's options (the database is its own) and the queries it searches for. */
public interface DemoOptions extends EmbeddingPipelineOptions, SearchOptions {}
