package io.pgembed.model;

import java.util.function.Function;

/** The predictor of a model whose forward pass keeps no per-thread state: only a handle on the shared model. */
record StatelessPredictor(TextTokenizer tokenizer, Function<TokenBatch, float[][]> forward)
    implements EmbeddingPredictor {
  @Override
  public float[][] embed(TokenBatch batch) {
    return forward.apply(batch);
  }
}
