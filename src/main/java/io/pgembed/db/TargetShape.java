package io.pgembed.db;

/**
 * What the target holds: one vector per source row ({@code <source>_embeddings}), or one per chunk of a row's text
 * ({@code <source>_chunks}, keyed by {@code (artifact_id, chunk_seq)}). Derived once from {@code --chunking};
 * {@link TargetSql#of} gives the SQL that differs between the two.
 */
public enum TargetShape {
  ROWS("_embeddings"),
  CHUNKS("_chunks");

  private final String defaultSuffix;

  TargetShape(String defaultSuffix) {
    this.defaultSuffix = defaultSuffix;
  }

  /** The default target's name after the source's: {@code artifacts_embeddings}, {@code artifacts_chunks}. */
  public String defaultSuffix() {
    return defaultSuffix;
  }
}
