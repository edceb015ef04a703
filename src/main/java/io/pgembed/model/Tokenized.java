package io.pgembed.model;

/** One text after tokenization: ids with the special tokens, and whether it was cut to the model's limit. */
public record Tokenized(long[] ids, long[] typeIds, boolean truncated) {
  public int length() {
    return ids.length;
  }
}
