package io.pgembed.db;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Which source row a text came from: its id (as text, whatever its SQL type) and the sha256 of its text's UTF-8
 * bytes as PostgreSQL computed it, which the upsert stores so that an edited row is pending again; and when it was
 * read ({@code readAtMicros}: the reading transaction's start, microseconds since the epoch; 0 when unknown), which
 * the failure record keeps so that a replayed write of the same read counts no second attempt. Two keys of the same
 * row and text are equal whenever they were read.
 */
public record RowKey(String id, byte @Nullable [] contentSha256, long readAtMicros) {

  /** A key with no read time. */
  public RowKey(String id, byte @Nullable [] contentSha256) {
    this(id, contentSha256, 0);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowKey k && id.equals(k.id) && Arrays.equals(contentSha256, k.contentSha256);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "RowKey[" + id + "]";
  }

  /** The Beam coder: deterministic, so a RowKey can key state. */
  public static final class Coder extends AtomicCoder<RowKey> {
    private static final Coder INSTANCE = new Coder();
    private static final NullableCoder<byte[]> BYTES = NullableCoder.of(ByteArrayCoder.of());

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(RowKey value, OutputStream out) throws IOException {
      StringUtf8Coder.of().encode(value.id(), out);
      BYTES.encode(value.contentSha256(), out);
      VarLongCoder.of().encode(value.readAtMicros(), out);
    }

    @Override
    public RowKey decode(InputStream in) throws IOException {
      return new RowKey(StringUtf8Coder.of().decode(in), BYTES.decode(in), VarLongCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
