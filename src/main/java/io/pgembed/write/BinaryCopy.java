package io.pgembed.write;

import io.pgembed.db.RowKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import org.apache.beam.sdk.values.KV;

/**
 * Rows of (id text, vector, sha bytea) in PostgreSQL's binary COPY format: a vector as pgvector's binary
 * {@code vector} (int16 dimensions, int16 unused, the float4s) or as a one-dimensional binary {@code float4[]}. The
 * floats are sent bit for bit, as the row-by-row path's binary array parameter sends them.
 *
 * <pre>{@code
 * byte[] bytes = BinaryCopy.encode(rows, true);
 * copyManager.copyIn("COPY t (id, v, sha) FROM STDIN (FORMAT binary)", new ByteArrayInputStream(bytes));
 * }</pre>
 */
final class BinaryCopy {
  private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
  private static final int FLOAT4_OID = 700;

  private BinaryCopy() {}

  /** The COPY data of {@code rows} (the key's id and content sha, the vector); a null sha is NULL. */
  static byte[] encode(Collection<KV<RowKey, float[]>> rows, boolean nativeVector) {
    byte[][] idBytes = new byte[rows.size()][];
    long size = SIGNATURE.length + 8 + 2;
    int n = 0;
    for (KV<RowKey, float[]> row : rows) {
      idBytes[n] = row.getKey().id().getBytes(StandardCharsets.UTF_8);
      byte[] sha = row.getKey().contentSha256();
      size += 2 + 4 + idBytes[n++].length + 4 + vectorBytes(row.getValue().length, nativeVector) + 4
          + (sha == null ? 0 : sha.length);
    }
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("a COPY batch of " + rows.size() + " vectors is over 2 GB: lower"
          + " --writeBatchSize");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size); // big-endian, as COPY's binary format is
    b.put(SIGNATURE).putInt(0).putInt(0); // flags, header extension length
    int i = 0;
    for (KV<RowKey, float[]> row : rows) {
      float[] v = row.getValue();
      byte[] sha = row.getKey().contentSha256();
      b.putShort((short) 3);
      b.putInt(idBytes[i].length).put(idBytes[i++]);
      b.putInt(vectorBytes(v.length, nativeVector));
      if (nativeVector) {
        if (v.length > Short.MAX_VALUE) {
          throw new IllegalArgumentException("pgvector's vector holds at most 16,000 dimensions, not " + v.length);
        }
        b.putShort((short) v.length).putShort((short) 0);
        for (float x : v) {
          b.putFloat(x);
        }
      } else {
        b.putInt(1).putInt(0).putInt(FLOAT4_OID).putInt(v.length).putInt(1); // one dimension, no NULLs, lower 1
        for (float x : v) {
          b.putInt(4).putFloat(x);
        }
      }
      if (sha == null) {
        b.putInt(-1);
      } else {
        b.putInt(sha.length).put(sha);
      }
    }
    b.putShort((short) -1);
    return b.array();
  }

  private static int vectorBytes(int dimension, boolean nativeVector) {
    return nativeVector ? 4 + 4 * dimension : 20 + 8 * dimension;
  }
}
