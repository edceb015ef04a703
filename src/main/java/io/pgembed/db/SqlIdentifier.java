package io.pgembed.db;

import java.io.Serializable;
import java.util.regex.Pattern;

/**
 * A validated PostgreSQL table or column name, optionally schema-qualified ({@code public.artifacts}). Only plain
 * identifiers are accepted (letters, digits, underscore, not starting with a digit, at most 63 bytes), so nothing
 * from an option can change the meaning of the SQL built around it; each part is also double-quoted.
 */
public final class SqlIdentifier implements Serializable {
  private static final Pattern PART = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");

  private final String schema;
  private final String name;

  private SqlIdentifier(String schema, String name) {
    this.schema = schema;
    this.name = name;
  }

  /** A table name, {@code name} or {@code schema.name}; {@code option} names the flag in the error. */
  public static SqlIdentifier table(String value, String option) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(option + " must be set");
    }
    String[] parts = value.split("\\.", -1);
    if (parts.length > 2) {
      throw invalid(value, option);
    }
    for (String p : parts) {
      if (!PART.matcher(p).matches()) {
        throw invalid(value, option);
      }
    }
    return parts.length == 2 ? new SqlIdentifier(parts[0], parts[1]) : new SqlIdentifier(null, parts[0]);
  }

  /** A column name; no schema part. */
  public static SqlIdentifier column(String value, String option) {
    if (value == null || !PART.matcher(value).matches()) {
      throw invalid(value, option);
    }
    return new SqlIdentifier(null, value);
  }

  private static IllegalArgumentException invalid(String value, String option) {
    return new IllegalArgumentException(
        option + " must be a plain identifier (letters, digits and _, not starting with a digit, at most 63"
            + " characters; tables may be schema.table), but was '" + value + "'. Rename the object or create a"
            + " view with such a name.");
  }

  /** The unquoted name as PostgreSQL stores it (case folded only if the user quoted nothing: we always quote). */
  public String name() {
    return name;
  }

  public String schema() {
    return schema;
  }

  /** For SQL: {@code "schema"."name"}. */
  public String quoted() {
    return (schema == null ? "" : '"' + schema + "\".") + '"' + name + '"';
  }

  /**
   * A sibling name in the same schema: {@code artifacts} -> {@code artifacts_embeddings}. One over PostgreSQL's 63
   * characters (which it would silently cut) is an error naming the derived name and {@code fix}, the option that
   * names the table instead.
   */
  public SqlIdentifier withSuffix(String suffix, String fix) {
    String derived = name + suffix;
    if (derived.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 63) {
      throw new IllegalArgumentException("the table name derived from " + this + ", " + derived + ", is "
          + derived.length() + " characters; PostgreSQL allows 63 (and would cut it silently): name the table with "
          + fix);
    }
    return table((schema == null ? "" : schema + ".") + derived, fix);
  }

  /** The value for to_regclass and pg_catalog lookups, quoted so that case is kept. */
  public String regclass() {
    return quoted();
  }

  @Override
  public String toString() {
    return (schema == null ? "" : schema + ".") + name;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SqlIdentifier s && java.util.Objects.equals(schema, s.schema) && name.equals(s.name);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(schema, name);
  }
}
