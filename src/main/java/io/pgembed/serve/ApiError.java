package io.pgembed.serve;

/**
 * A request the server answers with an error: the HTTP status, a type (OpenAI's {@code invalid_request_error} and
 * the like; TEI's {@code Validation}), the message naming the input and the fix, and the field it is about (or null).
 */
public final class ApiError extends RuntimeException {
  private final int status;
  private final String type;
  private final String param;

  public ApiError(int status, String type, String param, String message) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.param = param;
  }

  /** 400: a malformed body or a wrong field. */
  static ApiError badRequest(String param, String message) {
    return new ApiError(400, "invalid_request_error", param, message);
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String param() {
    return param;
  }
}
