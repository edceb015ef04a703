package io.pgembed.batch;

import java.io.Serializable;

/**
 * How {@link BatchTexts} measures a text to choose its length bucket: serializable, opened once per DoFn instance
 * (it may hold a tokenizer) and closed at its teardown.
 */
public interface TokenCounter extends Serializable {
  /** About one token per 4 characters, plus [CLS] and [SEP]: needs no model. */
  TokenCounter ESTIMATE = () -> new Counting() {
    @Override
    public long count(String text) {
      return BatchTexts.estimate(text);
    }

    @Override
    public void close() {}
  };

  Counting open();

  /**
   * Whether counting also measures what it counts (a metric per text): then {@link BatchTexts} counts every text,
   * even without length buckets.
   */
  default boolean measures() {
    return false;
  }

  /** An open counter; not necessarily thread-safe. */
  interface Counting extends AutoCloseable {
    long count(String text);

    @Override
    void close();
  }
}
