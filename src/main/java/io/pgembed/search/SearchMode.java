package io.pgembed.search;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.pgembed.labels.Labels;

/**
 * {@code --mode} of a search: {@code vector} (the stored vectors nearest the query's) or {@code hybrid} (those and
 * PostgreSQL's full-text ranking, fused by reciprocal rank).
 */
public enum SearchMode {
  VECTOR,
  HYBRID;

  /** {@code vector} or {@code hybrid}, as on the command line or in a request. */
  @JsonCreator
  public static SearchMode parse(String value) {
    return Labels.parse(values(), value, "--mode=" + value + " is not a search mode: use vector or hybrid");
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
