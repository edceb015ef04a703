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

  @Override
  default void close() {}
}
