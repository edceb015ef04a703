package io.pgembed.capture;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.pgembed.labels.Labels;

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
    return Labels.parse(values(), value, "--changeCapture=" + value + " is not a mode: use scan or trigger");
  }

  @JsonValue
  public String label() {
    return Labels.of(this);
  }

  @Override
  public String toString() {
    return label();
  }
}
