package io.pgembed.embed;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.util.VarInt;

/** A {@code float[]} as its length and its IEEE 754 bits: exact, and 4 bytes a component. */
public final class VectorCoder extends AtomicCoder<float[]> {
  private static final VectorCoder INSTANCE = new VectorCoder();
  private static final int MAX_DIMENSION = 1 << 20;

  public static VectorCoder of() {
    return INSTANCE;
  }

  @Override
  public void encode(float[] value, OutputStream out) throws IOException {
    VarInt.encode(value.length, out);
    DataOutputStream data = new DataOutputStream(out);
    for (float f : value) {
      data.writeFloat(f);
    }
    data.flush();
  }

  @Override
  public float[] decode(InputStream in) throws IOException {
    int n = VarInt.decodeInt(in);
    if (n < 0 || n > MAX_DIMENSION) {
      throw new CoderException("a vector of " + n + " components is not a vector this job wrote");
    }
    DataInputStream data = new DataInputStream(in);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = data.readFloat();
    }
    return v;
  }

  @Override
  public void verifyDeterministic() {}
}
