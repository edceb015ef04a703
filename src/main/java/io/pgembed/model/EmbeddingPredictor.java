package io.pgembed.model;

import java.util.List;

/** Runs forward passes for one thread. Not thread-safe. */
public interface EmbeddingPredictor extends AutoCloseable {

  TextTokenizer tokenizer();

  /** One forward pass over the batch, padded to its longest member; one vector per text, in order. */
  float[][] embed(TokenBatch batch);

  /** Tokenizes and embeds the texts as one batch. */
  default float[][] embedTexts(List<String> texts) {
    return embed(new TokenBatch(tokenizer().tokenize(texts)));
  }

  /**
   * Tokenizes the texts and embeds them in length-sorted forward passes of at most {@code batchSize} texts and
   * {@code maxBatchTokens} token slots (0: no cap): what the pipeline's embed step calls for each group of rows.
   */
  default LengthSortedBatches.Result embedAll(List<String> texts, int batchSize, int maxBatchTokens) {
    return LengthSortedBatches.embed(this, tokenizer().tokenize(texts), batchSize, maxBatchTokens);
  }

  @Override
  default void close() {}
}
