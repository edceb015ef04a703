package io.pgembed.embed;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.util.VarInt;

/** A {@code float[]} as its length and its IEEE 754 bits (big-endian): exact, and 4 bytes a component. */
public final class VectorCoder extends AtomicCoder<float[]> {
  private static final VectorCoder INSTANCE = new VectorCoder();
  private static final int MAX_DIMENSION = 1 << 20;

  public static VectorCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(float[] value, OutputStream out) throws IOException {
    VarInt.encode(value.length, out);
    // One bulk write: per-float writes through Beam's stream wrappers cost more than the vector is worth.
    ByteBuffer bytes = ByteBuffer.allocate(value.length * Float.BYTES);
    bytes.asFloatBuffer().put(value);
    out.write(bytes.array());
  }

  @Override
  public float[] decode(InputStream in) throws IOException {
    int n = VarInt.decodeInt(in);
    if (n < 0 || n > MAX_DIMENSION) {
      throw new CoderException("a vector of " + n + " components is not a vector this job wrote");
    }
    byte[] bytes = in.readNBytes(n * Float.BYTES);
    if (bytes.length != n * Float.BYTES) {
      throw new CoderException("a vector of " + n + " components ended after " + bytes.length + " bytes");
    }
    float[] v = new float[n];
    ByteBuffer.wrap(bytes).asFloatBuffer().get(v);
    return v;
  }

  @Override
  public void verifyDeterministic() {}
}
