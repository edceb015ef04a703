package io.pgembed.db;

/** A string literal for SQL built from values we control (model fingerprints, table names); quotes are doubled. */
public final class SqlLiteral {
  private SqlLiteral() {}

  public static String of(String value) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("a SQL literal cannot hold a NUL character");
    }
    return "'" + value.replace("'", "''") + "'";
  }
}
