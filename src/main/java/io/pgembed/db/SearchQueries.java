package io.pgembed.db;

/**
 * What {@code search} (and the demo) read: the stored vectors of one model with their text, scanned (real[]) or
 * through pgvector's {@code <=>} (an HNSW index where there is one); for chunks, the best chunk per document.
 *
 * <pre>{@code
 * String sql = new SearchQueries(names).nearestQuery(fingerprint, VectorType.VECTOR, 5);
 * }</pre>
 */
public record SearchQueries(TableNames names) {
  /** The stored vectors of {@code fingerprint} with their rows' text: id, vector as text, the first 500 characters. */
  public String searchQuery(String fingerprint) {
    return TargetSql.of(names).searchQuery(SqlLiteral.of(fingerprint));
  }

  /**
   * On a pgvector target: the {@code top} stored vectors of {@code fingerprint} nearest to the one parameter (the
   * query as float4[]) by cosine distance, with their rows' text; id, similarity (1 - distance), the first 500
   * characters. One {@code ORDER BY embedding <=> $1 LIMIT k}, which an HNSW index on the column answers.
   */
  public String nearestQuery(String fingerprint, VectorType type, int top) {
    if (!type.pgvector()) {
      throw new IllegalArgumentException("nearestQuery needs a pgvector column; real[] is scanned (searchQuery)");
    }
    return TargetSql.of(names).nearestQuery(SqlLiteral.of(fingerprint), type, top);
  }
}
