package io.pgembed.embed;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;

/**
 * Why a text produced no vector: skipped ({@link #SKIPPED_NULL}, {@link #SKIPPED_BLANK}: not retried until the text
 * changes) or failed (the model threw on it alone: {@code errorClass} is the exception's class, retryable).
 */
public record EmbeddingFailure(String errorClass, String message, boolean retryable) {
  /** The class of every row skipped for its text rather than failed by the model. */
  public static final String SKIPPED_PREFIX = "skipped_";
  public static final String SKIPPED_NULL = SKIPPED_PREFIX + "null_text";
  public static final String SKIPPED_BLANK = SKIPPED_PREFIX + "blank_text";
  /** The model gave a vector with a NaN or infinite component, or all zeros: not written. */
  public static final String INVALID_VECTOR = "invalid_vector";
  static final int MAX_MESSAGE = 2000;

  /**
   * Why {@code v} must not be stored (NaN or infinite components, or a zero norm), or null when it is sound.
   */
  static String invalidVector(float[] v) {
    int nan = 0;
    int inf = 0;
    int first = -1;
    double norm = 0;
    for (int i = 0; i < v.length; i++) {
      if (Float.isNaN(v[i])) {
        nan++;
      } else if (Float.isInfinite(v[i])) {
        inf++;
      } else {
        norm += (double) v[i] * v[i];
        continue;
      }
      first = first < 0 ? i : first;
    }
    if (nan + inf > 0) {
      return "the model gave a vector with " + nan + " NaN and " + inf + " infinite components of " + v.length
          + " (the first at index " + first + "): not written";
    }
    return norm == 0 ? "the model gave an all-zero vector of " + v.length + " components (no direction, so no"
        + " cosine): not written" : null;
  }

  /** A failure of the model on one text alone. */
  static EmbeddingFailure of(Throwable e) {
    String message = String.valueOf(e.getMessage());
    return new EmbeddingFailure(
        e.getClass().getName(), message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) : message, true);
  }

  /** The Beam coder. */
  public static final class Coder extends AtomicCoder<EmbeddingFailure> {
    private static final Coder INSTANCE = new Coder();
    private static final NullableCoder<String> TEXT = NullableCoder.of(StringUtf8Coder.of());

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(EmbeddingFailure value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.errorClass(), out);
      TEXT.encode(value.message(), out);
      BooleanCoder.of().encode(value.retryable(), out);
    }

    @Override
    public EmbeddingFailure decode(InputStream in) throws IOException {
      return new EmbeddingFailure(StringUtf8Coder.of().decode(in), TEXT.decode(in), BooleanCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
