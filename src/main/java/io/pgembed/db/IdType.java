package io.pgembed.db;

import java.util.Locale;

/** The SQL type of the source's id: what the target's key is, and whether waves can split the ids as numbers. */
public enum IdType {
  BIGINT("bigint", true),
  INTEGER("integer", true),
  SMALLINT("smallint", true),
  UUID("uuid", false),
  TEXT("text", false),
  /** {@code character varying}: the target's key is {@code text}. */
  VARCHAR("text", false);

  private final String castType;
  private final boolean numeric;

  IdType(String castType, boolean numeric) {
    this.castType = castType;
    this.numeric = numeric;
  }

  /** The SQL type name for casts and the target's key ({@code character varying} becomes {@code text}). */
  public String castType() {
    return castType;
  }

  public boolean numeric() {
    return numeric;
  }

  /** The id type of a column PostgreSQL calls {@code sqlType} ({@code format_type}); any other is named. */
  static IdType of(String sqlType, SqlIdentifier column) {
    return switch (sqlType.toLowerCase(Locale.ROOT)) {
      case "bigint" -> BIGINT;
      case "integer" -> INTEGER;
      case "smallint" -> SMALLINT;
      case "uuid" -> UUID;
      case "text" -> TEXT;
      case "character varying" -> VARCHAR;
      default -> throw new IllegalArgumentException("--idColumn=" + column + " has type " + sqlType
          + "; ids must be bigint, integer, smallint, uuid, text or varchar");
    };
  }
}
