package io.pgembed.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Embeds many texts in batches of similar token length, so that padding to each batch's longest member wastes
 * little work, and returns the vectors in the input order.
 */
public final class LengthSortedBatches {
  private LengthSortedBatches() {}

  /** The result of one {@link #embed} call. */
  public record Result(float[][] vectors, int batches, long realTokens, long paddedTokens, int truncated) {}

  public static Result embed(EmbeddingPredictor predictor, List<Tokenized> texts, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be >= 1, but was " + batchSize);
    }
    Integer[] order = new Integer[texts.size()];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, Comparator.comparingInt(i -> texts.get(i).length()));
    float[][] vectors = new float[texts.size()][];
    int batches = 0;
    long real = 0;
    long padded = 0;
    int truncated = 0;
    for (int start = 0; start < order.length; start += batchSize) {
      int end = Math.min(order.length, start + batchSize);
      List<Tokenized> batch = new ArrayList<>(end - start);
      for (int i = start; i < end; i++) {
        Tokenized t = texts.get(order[i]);
        batch.add(t);
        truncated += t.truncated() ? 1 : 0;
      }
      TokenBatch tokens = new TokenBatch(batch);
      float[][] out = predictor.embed(tokens);
      for (int i = start; i < end; i++) {
        vectors[order[i]] = out[i - start];
      }
      batches++;
      real += tokens.realTokens();
      padded += tokens.paddedTokens();
    }
    return new Result(vectors, batches, real, padded, truncated);
  }
}
