package io.pgembed.options;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/** Durations as options write them: {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
public final class Durations {
  private static final Pattern FORM = Pattern.compile("(\\d+)(ms|s|m|h)");

  private Durations() {}

  /** Parses {@code value}; the error names {@code option} and the accepted forms. */
  public static Duration parse(String value, String option) {
    Matcher m = FORM.matcher(value == null ? "" : value.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must look like 500ms, 5s, 2m or 1h, but was '" + value + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.millis(n);
      case "s" -> Duration.standardSeconds(n);
      case "m" -> Duration.standardMinutes(n);
      default -> Duration.standardHours(n);
    };
  }
}
