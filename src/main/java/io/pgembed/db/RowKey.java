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
public record RowKey(String id, byte @Nullable [] contentSha256, long readAtMicros, @Nullable Chunk chunk) {

  /**
   * Where a chunk lies in its row's text: chunk {@code seq} of {@code count}, characters {@code [start, end)}
   * counted in Unicode code points (PostgreSQL's characters: {@code substr(text, start + 1, end - start)}).
   */
  public record Chunk(int seq, int count, int start, int end) {}

  /** A whole row's key (not a chunk). */
  public RowKey(String id, byte @Nullable [] contentSha256, long readAtMicros) {
    this(id, contentSha256, readAtMicros, null);
  }

  /** A key with no read time. */
  public RowKey(String id, byte @Nullable [] contentSha256) {
    this(id, contentSha256, 0);
  }

  /** This row's chunk {@code seq} of {@code count}: code points {@code [start, end)} of its text. */
  public RowKey chunk(int seq, int count, int start, int end) {
    return new RowKey(id, contentSha256, readAtMicros, new Chunk(seq, count, start, end));
  }

  /** A chunk of a row's text rather than the whole row. */
  public boolean isChunk() {
    return chunk != null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowKey k && id.equals(k.id) && Arrays.equals(contentSha256, k.contentSha256)
        && seq() == k.seq();
  }

  @Override
  public int hashCode() {
    return id.hashCode() * 31 + seq();
  }

  /** The chunk's place, or -1 for a whole row: for equality and the coder only. */
  private int seq() {
    return chunk == null ? -1 : chunk.seq();
  }

  @Override
  public String toString() {
    return "RowKey[" + id + (isChunk() ? ", chunk " + chunk.seq() + " of " + chunk.count() : "") + "]";
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
      // 0 for a whole row, else the chunk's seq + 1 and its place (the encoding of earlier releases).
      VarIntCoder.of().encode(value.seq() + 1, out);
      if (value.isChunk()) {
        VarIntCoder.of().encode(value.chunk().count(), out);
        VarIntCoder.of().encode(value.chunk().start(), out);
        VarIntCoder.of().encode(value.chunk().end(), out);
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
