package io.pgembed.read;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A pending source row: its id (as text, whatever its SQL type), its text (null when the column is NULL) and the
 * sha256 of the text's UTF-8 bytes as PostgreSQL computed it.
 */
public record Artifact(String id, @Nullable String text, byte @Nullable [] contentSha256) {

  @Override
  public boolean equals(Object o) {
    return o instanceof Artifact a
        && id.equals(a.id)
        && java.util.Objects.equals(text, a.text)
        && Arrays.equals(contentSha256, a.contentSha256);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "Artifact[" + id + ", " + (text == null ? "null" : text.length() + " chars") + "]";
  }

  /** The Beam coder. */
  public static final class Coder extends AtomicCoder<Artifact> {
    private static final Coder INSTANCE = new Coder();
    private static final NullableCoder<String> TEXT = NullableCoder.of(StringUtf8Coder.of());
    private static final NullableCoder<byte[]> BYTES = NullableCoder.of(ByteArrayCoder.of());

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Artifact value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.id(), out);
      TEXT.encode(value.text(), out);
      BYTES.encode(value.contentSha256(), out);
    }

    @Override
    public Artifact decode(InputStream in) throws IOException {
      return new Artifact(StringUtf8Coder.of().decode(in), TEXT.decode(in), BYTES.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
