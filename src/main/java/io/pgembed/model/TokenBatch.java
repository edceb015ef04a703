package io.pgembed.model;

import java.util.List;

/**
 * Texts padded to the longest member of the batch (not to the model's limit), as row-major {@code [B, T]} arrays.
 */
public final class TokenBatch {
  final int batch;
  final int length;
  final long[] ids;
  final long[] typeIds;
  final long[] mask;
  final float[] maskFloat;
  private final long realTokens;

  public TokenBatch(List<Tokenized> texts) {
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("an empty batch cannot be embedded");
    }
    batch = texts.size();
    int longest = 0;
    for (Tokenized t : texts) {
      longest = Math.max(longest, t.length());
    }
    length = longest;
    ids = new long[batch * length];
    typeIds = new long[batch * length];
    mask = new long[batch * length];
    maskFloat = new float[batch * length];
    long real = 0;
    for (int b = 0; b < batch; b++) {
      Tokenized t = texts.get(b);
      System.arraycopy(t.ids(), 0, ids, b * length, t.length());
      System.arraycopy(t.typeIds(), 0, typeIds, b * length, t.length());
      for (int i = 0; i < t.length(); i++) {
        mask[b * length + i] = 1;
        maskFloat[b * length + i] = 1f;
      }
      real += t.length();
    }
    realTokens = real;
  }

  public int size() {
    return batch;
  }

  public int paddedLength() {
    return length;
  }

  /** Tokens that carry text (special tokens included). */
  public long realTokens() {
    return realTokens;
  }

  /** Token slots computed, padding included. */
  public long paddedTokens() {
    return (long) batch * length;
  }
}
