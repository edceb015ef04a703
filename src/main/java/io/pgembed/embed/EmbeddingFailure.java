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
  public static final String SKIPPED_NULL = "skipped_null_text";
  public static final String SKIPPED_BLANK = "skipped_blank_text";
  static final int MAX_MESSAGE = 2000;

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
