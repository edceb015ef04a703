package io.pgembed.embed;

import java.io.Serializable;

/**
 * A row that produced no vector: skipped (NULL or blank text, not retried until the text changes) or failed (the
 * model threw on it alone; retried on later runs until maxAttempts).
 */
public record FailedRow(String id, String errorClass, String message, boolean retryable, byte[] contentSha256)
    implements Serializable {
  public static final String SKIPPED_NULL = "skipped_null_text";
  public static final String SKIPPED_BLANK = "skipped_blank_text";
}
