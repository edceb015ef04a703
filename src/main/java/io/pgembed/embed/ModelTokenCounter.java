package io.pgembed.embed;

import io.pgembed.batch.TokenCounter;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextTokenizer;

/**
 * Exact token counts from the model's own tokenizer (the JVM's shared model, {@link SharedModels}), so that texts
 * share a length bucket by the length the model will see: an estimate by characters put texts of 10 to 30 tokens
 * together and left forward passes 14% padding on short package descriptions.
 */
final class ModelTokenCounter implements TokenCounter {
  private final ModelSpec spec;

  ModelTokenCounter(ModelSpec spec) {
    this.spec = spec;
  }

  @Override
  public Counting open() {
    TextTokenizer tokenizer = SharedModels.acquire(spec).tokenizer();
    return new Counting() {
      @Override
      public long count(String text) {
        return text == null || text.isBlank() ? 0 : tokenizer.tokenize(text).length();
      }

      @Override
      public void close() {
        SharedModels.release(spec);
      }
    };
  }
}
