package io.pgembed.write;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Rows of (id text, vector, sha bytea) in PostgreSQL's binary COPY format: a vector as pgvector's binary
 * {@code vector} (int16 dimensions, int16 unused, the float4s) or as a one-dimensional binary {@code float4[]}. The
 * floats are sent bit for bit, as the row-by-row path's binary array parameter sends them.
 *
 * <pre>{@code
 * byte[] bytes = BinaryCopy.encode(ids, vectors, shas, true);
 * copyManager.copyIn("COPY t (id, v, sha) FROM STDIN (FORMAT binary)", new ByteArrayInputStream(bytes));
 * }</pre>
 */
final class BinaryCopy {
  private static final byte[] SIGNATURE = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xff, '\r', '\n', 0};
  private static final int FLOAT4_OID = 700;

  private BinaryCopy() {}

  /** The COPY data of {@code ids.size()} rows; a null sha is NULL. */
  static byte[] encode(List<String> ids, List<float[]> vectors, List<byte[]> shas, boolean nativeVector) {
    byte[][] idBytes = new byte[ids.size()][];
    long size = SIGNATURE.length + 8 + 2;
    for (int i = 0; i < idBytes.length; i++) {
      idBytes[i] = ids.get(i).getBytes(StandardCharsets.UTF_8);
      byte[] sha = shas.get(i);
      size += 2 + 4 + idBytes[i].length + 4 + vectorBytes(vectors.get(i).length, nativeVector) + 4
          + (sha == null ? 0 : sha.length);
    }
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("a COPY batch of " + ids.size() + " vectors is over 2 GB: lower"
          + " --writeBatchSize");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size); // big-endian, as COPY's binary format is
    b.put(SIGNATURE).putInt(0).putInt(0); // flags, header extension length
    for (int i = 0; i < idBytes.length; i++) {
      float[] v = vectors.get(i);
      byte[] sha = shas.get(i);
      b.putShort((short) 3);
      b.putInt(idBytes[i].length).put(idBytes[i]);
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
