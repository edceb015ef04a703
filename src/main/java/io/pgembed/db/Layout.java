package io.pgembed.db;

import java.io.Serializable;

/**
 * What a run needs to know about its tables, learnt at start-up ({@link EmbeddingSchema#plan}): the source id's
 * type, the target's vector column type and the model's dimension.
 */
public record Layout(IdType idType, VectorType vectorType, int dimension) implements Serializable {
  /** A pgvector column (vector or halfvec): searched with {@code <=>}, indexable with HNSW. */
  public boolean pgvector() {
    return vectorType.pgvector();
  }

  public boolean numericId() {
    return idType.numeric();
  }

  /** The SQL type name for casts and the target's key: character varying becomes text. */
  public String idCastType() {
    return idType.castType();
  }
}
