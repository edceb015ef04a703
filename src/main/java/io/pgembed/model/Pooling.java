package io.pgembed.model;

import ai.djl.ndarray.NDArray;
import java.util.Locale;

/** How token vectors become one text vector. */
public enum Pooling {
  /** The attention-masked mean of the token vectors (sentence-transformers' default). */
  MEAN,
  /** The vector of the first token, [CLS] (bge). */
  CLS;

  /**
   * Pools {@code hidden [B, T, H]} with {@code mask [B, T]} (1 for real tokens, 0 for padding) into {@code [B, H]}.
   */
  public NDArray apply(NDArray hidden, NDArray mask) {
    if (this == CLS) {
      return hidden.get(":, 0, :");
    }
    NDArray m = mask.expandDims(2);
    NDArray sum = hidden.mul(m).sum(new int[] {1});
    NDArray count = m.sum(new int[] {1}).maximum(1e-9f);
    return sum.divi(count);
  }

  /** Divides each row by its L2 norm, as sentence-transformers' Normalize module does. */
  public static NDArray l2Normalize(NDArray pooled) {
    NDArray norm = pooled.norm(new int[] {1}, true).maximum(1e-12f);
    return pooled.div(norm);
  }

  /** {@code [B, H]} as B Java arrays. */
  public static float[][] toRows(NDArray pooled) {
    int b = (int) pooled.getShape().get(0);
    int h = (int) pooled.getShape().get(1);
    float[] flat = pooled.toFloatArray();
    float[][] out = new float[b][h];
    for (int i = 0; i < b; i++) {
      System.arraycopy(flat, i * h, out[i], 0, h);
    }
    return out;
  }

  public static Pooling parse(String value, String what) {
    try {
      return Pooling.valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " must be 'mean' or 'cls', but was '" + value + "'");
    }
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
