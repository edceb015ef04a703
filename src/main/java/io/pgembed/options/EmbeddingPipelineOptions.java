package io.pgembed.options;

/**
 * Options of the embedding run ({@code run}): PostgreSQL source rows in, vectors upserted back. Composed of one
 * mixin per concern, each usable alone by the commands that need only it: {@link DatabaseOptions},
 * {@link TableOptions}, {@link ModelOptions}, {@link BatchingOptions}, {@link RunOptions}, {@link CanaryOptions}.
 *
 * <p>Precedence: the command line, then the environment ({@code EMBEDDING_DEVICE}, {@code EMBEDDING_WORKERS},
 * {@code EMBEDDING_BATCH_SIZE}, {@code EMBEDDING_TIMEOUT_MS}), then {@code --profile}, then the defaults (see
 * {@link OptionSources}). The password is never an option: it comes from {@code PGPASSWORD},
 * {@code --passwordFile} or {@code ~/.pgpass}.
 */
public interface EmbeddingPipelineOptions
    extends DatabaseOptions, TableOptions, ModelOptions, BatchingOptions, RunOptions, CanaryOptions {}
