package io.pgembed.db;

import java.util.Locale;

/**
 * The SQL type of the target's vector column: PostgreSQL's {@code real[]}, or pgvector's {@code vector(d)} (4-byte
 * floats) or {@code halfvec(d)} (2-byte floats, half the storage; its index takes up to 4,000 dimensions). Every kind
 * is written from a binary float4[] parameter (pgvector casts real[] to its types), never from per-row text.
 */
public enum VectorType {
  REAL_ARRAY("real[]", null),
  VECTOR("vector", "vector_cosine_ops"),
  HALFVEC("halfvec", "halfvec_cosine_ops");

  private final String sqlName;
  private final String cosineOps;

  VectorType(String sqlName, String cosineOps) {
    this.sqlName = sqlName;
    this.cosineOps = cosineOps;
  }

  /** {@code real[]}, {@code vector} or {@code halfvec}: what casts name. */
  public String sqlName() {
    return sqlName;
  }

  /** The column's declared type for {@code dimension}: {@code real[]}, {@code vector(384)}, {@code halfvec(384)}. */
  public String declaration(int dimension) {
    return this == REAL_ARRAY ? sqlName : sqlName + "(" + dimension + ")";
  }

  /** A pgvector type (which has the {@code <=>} operator and HNSW indexes). */
  public boolean pgvector() {
    return this != REAL_ARRAY;
  }

  /** The HNSW operator class for cosine distance; null for real[]. */
  public String cosineOps() {
    return cosineOps;
  }

  /** Parses {@code --vectorType}: real[] (or real), vector, halfvec, in any case; null stays null (not asked). */
  /** A float4[] parameter (sent binary) as this column's type: pgvector casts real[] to vector and halfvec. */
  public String parameter() {
    return pgvector() ? "CAST(CAST(? AS real[]) AS " + sqlName() + ")" : "CAST(? AS real[])";
  }

  /** A vector as PostgreSQL prints it: {@code {1,2}} (real[]) or {@code [1,2]} (vector, halfvec). */
  public static float[] parseText(String literal) {
    String body = literal.substring(1, literal.length() - 1);
    String[] parts = body.split(",");
    float[] v = new float[parts.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = Float.parseFloat(parts[i]);
    }
    return v;
  }

  public static VectorType parse(String value, String option) {
    if (value == null) {
      return null;
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "real[]", "real", "float4[]" -> REAL_ARRAY;
      case "vector" -> VECTOR;
      case "halfvec" -> HALFVEC;
      default -> throw new IllegalArgumentException(
          option + "=" + value + " is not a vector type: use real[], vector or halfvec (pgvector's types need the"
              + " extension: CREATE EXTENSION vector)");
    };
  }

  /** The kind of a column whose format_type is {@code formatted} ({@code vector(384)}); null when none of these. */
  static VectorType ofColumn(String formatted) {
    if (formatted.equals("real[]")) {
      return REAL_ARRAY;
    }
    if (formatted.equals("vector") || formatted.startsWith("vector(")) {
      return VECTOR;
    }
    if (formatted.equals("halfvec") || formatted.startsWith("halfvec(")) {
      return HALFVEC;
    }
    return null;
  }
}
