package io.pgembed.model;

/** The cosine similarity of two vectors: what search ranks by and the canary gate compares. */
public final class Cosine {
  private Cosine() {}

  /** Over the first {@code min(a.length, b.length)} components; 0 when either vector is zero. */
  public static double of(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
  }
}
