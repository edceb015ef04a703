package io.pgembed.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

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
    for (Chunking c : values()) {
      if (c.label().equals(value == null ? "" : value.strip().toLowerCase(Locale.ROOT))) {
        return c;
      }
    }
    throw new IllegalArgumentException("--chunking=" + value + " is not a chunking mode: use none or tokens");
  }

  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
