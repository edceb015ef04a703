package io.pgembed.db;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Which source row a text came from: its id (as text, whatever its SQL type) and the sha256 of its text's UTF-8
 * bytes as PostgreSQL computed it, which the upsert stores so that an edited row is pending again; and when it was
 * read ({@code readAtMicros}: the reading transaction's start, microseconds since the epoch; 0 when unknown), which
 * the failure record keeps so that a replayed write of the same read counts no second attempt. Two keys of the same
 * row and text are equal whenever they were read.
 */
public record RowKey(
    String id, byte @Nullable [] contentSha256, long readAtMicros, int chunkSeq, int chunkCount, int chunkStart,
    int chunkEnd) {

  /** A whole row's key (not a chunk). */
  public RowKey(String id, byte @Nullable [] contentSha256, long readAtMicros) {
    this(id, contentSha256, readAtMicros, -1, 0, 0, 0);
  }

  /** A key with no read time. */
  public RowKey(String id, byte @Nullable [] contentSha256) {
    this(id, contentSha256, 0);
  }

  /**
   * This row's chunk {@code seq} of {@code count}: characters {@code [start, end)} of its text, counted in Unicode
   * code points (PostgreSQL's characters: {@code substr(text, start + 1, end - start)}).
   */
  public RowKey chunk(int seq, int count, int start, int end) {
    return new RowKey(id, contentSha256, readAtMicros, seq, count, start, end);
  }

  /** A chunk of a row's text rather than the whole row. */
  public boolean isChunk() {
    return chunkSeq >= 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowKey k && id.equals(k.id) && Arrays.equals(contentSha256, k.contentSha256)
        && chunkSeq == k.chunkSeq;
  }

  @Override
  public int hashCode() {
    return id.hashCode() * 31 + chunkSeq;
  }

  @Override
  public String toString() {
    return "RowKey[" + id + (isChunk() ? ", chunk " + chunkSeq + " of " + chunkCount : "") + "]";
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
      VarIntCoder.of().encode(value.chunkSeq() + 1, out);
      if (value.isChunk()) {
        VarIntCoder.of().encode(value.chunkCount(), out);
        VarIntCoder.of().encode(value.chunkStart(), out);
        VarIntCoder.of().encode(value.chunkEnd(), out);
      }
    }

    @Override
    public RowKey decode(InputStream in) throws IOException {
      RowKey key = new RowKey(StringUtf8Coder.of().decode(in), BYTES.decode(in), VarLongCoder.of().decode(in));
      int seq = VarIntCoder.of().decode(in) - 1;
      return seq < 0 ? key : key.chunk(seq, VarIntCoder.of().decode(in), VarIntCoder.of().decode(in),
          VarIntCoder.of().decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
