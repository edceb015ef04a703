package io.pgembed.labels;

import java.util.Locale;

/**
 * The lower-case labels by which an option's enumeration is written on the command line, in JSON and in reports
 * ({@code scan}, {@code hybrid}, ...), and their parsing: what every such enumeration shares.
 *
 * <pre>{@code
 * public static SearchMode parse(String value) {
 *   return Labels.parse(values(), value, "--mode=" + value + " is not a search mode: use vector or hybrid");
 * }
 * }</pre>
 */
public final class Labels {
  private Labels() {}

  /** {@code e}'s label: its name in lower case. */
  public static String of(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  /** The constant whose label is {@code value} (case and surrounding blanks ignored); else {@code error}. */
  public static <E extends Enum<E>> E parse(E[] values, String value, String error) {
    String wanted = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    for (E e : values) {
      if (of(e).equals(wanted)) {
        return e;
      }
    }
    throw new IllegalArgumentException(error);
  }
}
