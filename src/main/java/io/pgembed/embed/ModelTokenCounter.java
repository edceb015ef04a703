package io.pgembed.embed;

import static io.pgembed.metrics.EmbeddingMetrics.COVERED_TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.DOCUMENTS;
import static io.pgembed.metrics.EmbeddingMetrics.SOURCE_TOKENS;

import io.pgembed.batch.TokenCounter;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextTokenizer;

/**
 * Exact token counts from the model's own tokenizer (the JVM's shared model, {@link SharedModels}), so that texts
 * share a length bucket by the length the model will see: an estimate by characters put texts of 10 to 30 tokens
 * together and left forward passes 14% padding on short package descriptions.
 *
 * <p>With {@code measuring}, each text counted is also measured as a whole document, from the same tokenization:
 * documents, their tokens, and the tokens a vector covers (the first maximum length's) — what {@link MeasureTexts}
 * counts, without tokenizing every text a second time. NULL and blank texts count 0 and are not documents.
 */
final class ModelTokenCounter implements TokenCounter {
  private final ModelSpec spec;
  private final boolean measuring;

  ModelTokenCounter(ModelSpec spec, boolean measuring) {
    this.spec = spec;
    this.measuring = measuring;
  }

  @Override
  public boolean measures() {
    return measuring;
  }

  @Override
  public Counting open() {
    TextTokenizer tokenizer = SharedModels.acquire(spec).tokenizer();
    int max = tokenizer.maxLength();
    int special = tokenizer.specialTokens();
    return new Counting() {
      @Override
      public long count(String text) {
        if (text == null || text.isBlank()) {
          return 0;
        }
        // One untruncated tokenization: the model sees its special tokens around the first (max - special).
        int whole = tokenizer.countWhole(text);
        if (measuring) {
          DOCUMENTS.inc();
          SOURCE_TOKENS.inc(whole);
          COVERED_TOKENS.inc(Math.min(whole, max - special));
        }
        return Math.min(whole + special, max);
      }

      @Override
      public void close() {
        SharedModels.release(spec);
      }
    };
  }
}
