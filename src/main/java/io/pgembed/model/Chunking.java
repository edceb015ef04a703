package io.pgembed.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.pgembed.labels.Labels;

/**
 * {@code --chunking}: whether a document reaches the model whole (truncated at its maximum length) or cut into
 * token-exact overlapping chunks ({@link TextChunker}), one vector each.
 */
public enum Chunking {
  /** One vector per row; a text past the model's length is truncated and counted. */
  NONE,
  /** One vector per chunk of {@code --chunkTokens}, overlapping by {@code --chunkOverlap}. */
  TOKENS;

  /** {@code none} or {@code tokens}, as on the command line. */
  @JsonCreator
  public static Chunking parse(String value) {
    return Labels.parse(values(), value, "--chunking=" + value + " is not a chunking mode: use none or tokens");
  }

  @JsonValue
  public String label() {
    return Labels.of(this);
  }

  @Override
  public String toString() {
    return label();
  }
}
