package io.pgembed.commands;

/** Input that cannot be processed as given; the message names the input and how to fix it. */
public final class BadInputException extends IllegalArgumentException {
  public BadInputException(String message) {
    super(message);
  }
}
