package io.pgembed.capture;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * {@code --changeCapture}: how a run finds its pending rows. {@code scan} reads the whole source each run or poll
 * (a sha256 of every text, anti-joined to the target); {@code trigger} reads a change log that triggers on the
 * source keep ({@link ChangeLog}), so its cost follows the changes, not the table.
 */
public enum ChangeCapture {
  SCAN,
  TRIGGER;

  /** {@code scan} or {@code trigger}, as on the command line. */
  @JsonCreator
  public static ChangeCapture parse(String value) {
    for (ChangeCapture c : values()) {
      if (c.label().equals(value == null ? "" : value.strip().toLowerCase(Locale.ROOT))) {
        return c;
      }
    }
    throw new IllegalArgumentException("--changeCapture=" + value + " is not a mode: use scan or trigger");
  }

  @JsonValue
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return label();
  }
}
