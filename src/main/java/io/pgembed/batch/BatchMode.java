package io.pgembed.batch;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.pgembed.labels.Labels;

/** How rows are grouped before the model: {@code count} ({@code --batchSize} rows) or {@code tokens} (a budget). */
public enum BatchMode {
  /** {@code GroupIntoBatches.ofSize(--batchSize)}. */
  COUNT,
  /** {@code GroupIntoBatches.ofByteSize(--maxBatchTokens)} with a token estimate per text. */
  TOKENS;

  /** {@code count} or {@code tokens}, as on the command line. */
  @JsonCreator
  public static BatchMode parse(String value) {
    return Labels.parse(values(), value, "--batchMode must be 'count' or 'tokens', but was '" + value + "'");
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
