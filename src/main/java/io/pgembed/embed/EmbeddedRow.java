package io.pgembed.embed;

import java.io.Serializable;

/** A vector ready to upsert. */
public record EmbeddedRow(String id, float[] vector, byte[] contentSha256) implements Serializable {

  /** {@code {0.1,0.2}} for real[], {@code [0.1,0.2]} for pgvector; Float.toString keeps every bit. */
  public String literal(boolean pgvector) {
    StringBuilder sb = new StringBuilder(vector.length * 12);
    sb.append(pgvector ? '[' : '{');
    for (int i = 0; i < vector.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(vector[i]);
    }
    return sb.append(pgvector ? ']' : '}').toString();
  }
}
