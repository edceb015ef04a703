package io.pgembed.write;

import io.pgembed.db.DataSourceFn;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Layout;
import io.pgembed.db.Database;
import io.pgembed.db.RowKey;
import io.pgembed.db.SqlStates;
import io.pgembed.db.StagedUpsert;
import io.pgembed.embed.EmbeddingFailure;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Duration;

/**
 * JdbcIO batch writes: vectors as upserts into the target table (a rerun never duplicates a row), failures as
 * upserts into the failures table; or, for a target of one vector per row, {@link CopyUpserts} (binary COPY and one
 * upsert per batch, the same rows). The statements come from {@link io.pgembed.db.EmbeddingTables}; this class only
 * binds the parameters.
 *
 * <pre>{@code
 * result.embedded().apply("Write vectors",
 *     VectorWriter.vectors(database, tables.upsertStatement(layout), fingerprint, 500));
 * }</pre>
 */
public final class VectorWriter {
  /**
   * A batch that lost a deadlock or a serialization conflict is rolled back and written again: 5 tries in 2 min,
   * the first after 500 ms (both write methods).
   */
  static final int TRIES = 5;
  static final Duration RETRY_WITHIN = Duration.standardMinutes(2);
  static final Duration FIRST_BACKOFF = Duration.millis(500);
  static final JdbcIO.RetryConfiguration RETRIES = JdbcIO.RetryConfiguration.create(TRIES, RETRY_WITHIN, FIRST_BACKOFF);

  private VectorWriter() {}

  /**
   * Retries a batch that PostgreSQL aborted as a deadlock victim (40P01) or a serialization failure (40001): both
   * mean "try again", and the upserts make a second write of the same rows harmless. JdbcIO's own default retries
   * 40001 only.
   */
  static final class TransientConflicts implements JdbcIO.RetryStrategy {
    @Override
    public boolean apply(SQLException e) {
      return SqlStates.conflict(e);
    }
  }

  /**
   * The upserts of {@code tables}' target, by its shape and {@code method} (resolved: {@link WriteMethod#COPY} or
   * {@link WriteMethod#STATEMENTS}): {@link CopyUpserts} or {@link #vectors} for one vector per row,
   * {@link #chunkVectors} for chunks.
   */
  public static PTransform<PCollection<KV<RowKey, float[]>>, ? extends POutput> upserts(Database database,
      EmbeddingTables tables, Layout layout, String fingerprint, int batchSize, WriteMethod method) {
    if (method == WriteMethod.COPY) {
      return CopyUpserts.of(database, StagedUpsert.of(tables.names(), layout), fingerprint, batchSize);
    }
    if (method != WriteMethod.STATEMENTS) {
      throw new IllegalArgumentException("the write method must be resolved to copy or statements, not " + method);
    }
    String upsert = tables.upsertStatement(layout);
    return switch (tables.names().shape()) {
      case ROWS -> vectors(database, upsert, fingerprint, batchSize);
      case CHUNKS -> chunkVectors(database, upsert, fingerprint, batchSize);
    };
  }

  /** Binds id, id, vector (binary float4[]), {@code fingerprint}, sha. */
  public static JdbcIO.Write<KV<RowKey, float[]>> vectors(
      Database database, String upsertStatement, String fingerprint, int batchSize) {
    return write(database, upsertStatement, new VectorSetter(fingerprint), batchSize);
  }

  /**
   * Chunks' vectors ({@code RowKey.isChunk()}) into a target of chunks: binds id, chunk count, id, chunk seq,
   * count, start, end, vector, {@code fingerprint}, sha (the whole document's).
   */
  public static JdbcIO.Write<KV<RowKey, float[]>> chunkVectors(
      Database database, String chunkUpsertStatement, String fingerprint, int batchSize) {
    return write(database, chunkUpsertStatement, new ChunkSetter(fingerprint), batchSize);
  }

  /**
   * Binds id, {@code fingerprint}, error class, message, attempts (1, or {@code maxAttempts} for a skip), sha and
   * the row's read time (a replayed write of the same read counts no second attempt).
   */
  public static JdbcIO.Write<KV<RowKey, EmbeddingFailure>> failures(
      Database database, String failureStatement, String fingerprint, int maxAttempts, int batchSize) {
    return write(database, failureStatement, new FailureSetter(fingerprint, maxAttempts), batchSize);
  }

  /** One statement in JDBC batches, through the JVM's pool, retried on deadlocks and serialization failures. */
  private static <T> JdbcIO.Write<T> write(
      Database database, String statement, JdbcIO.PreparedStatementSetter<T> setter, int batchSize) {
    return JdbcIO.<T>write()
        .withDataSourceProviderFn(new DataSourceFn(database))
        .withStatement(statement)
        .withPreparedStatementSetter(setter)
        .withBatchSize(checkBatchSize(batchSize))
        .withRetryStrategy(new TransientConflicts())
        .withRetryConfiguration(RETRIES);
  }

  static int checkBatchSize(int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("--writeBatchSize must be >= 1, but was " + batchSize);
    }
    return batchSize;
  }

  static void setBytesOrNull(PreparedStatement ps, int index, byte[] value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.BINARY);
    } else {
      ps.setBytes(index, value);
    }
  }

  static final class VectorSetter implements JdbcIO.PreparedStatementSetter<KV<RowKey, float[]>> {
    private final String fingerprint;

    VectorSetter(String fingerprint) {
      this.fingerprint = fingerprint;
    }

    @Override
    public void setParameters(KV<RowKey, float[]> row, PreparedStatement ps) throws SQLException {
      ps.setString(1, row.getKey().id());
      ps.setString(2, row.getKey().id());
      // A float4[] parameter: pgjdbc sends it as a binary array, which the server copies instead of parsing 384
      // decimal literals (measured: 28,000 against 6,000 vectors/s over plain JDBC; Float.toString alone managed
      // 15,000 a second). For pgvector's types the statement casts it (real[] to vector or halfvec).
      ps.setObject(3, row.getValue());
      ps.setString(4, fingerprint);
      setBytesOrNull(ps, 5, row.getKey().contentSha256());
    }
  }

  static final class ChunkSetter implements JdbcIO.PreparedStatementSetter<KV<RowKey, float[]>> {
    private final String fingerprint;

    ChunkSetter(String fingerprint) {
      this.fingerprint = fingerprint;
    }

    @Override
    public void setParameters(KV<RowKey, float[]> row, PreparedStatement ps) throws SQLException {
      RowKey k = row.getKey();
      RowKey.Chunk c = k.chunk();
      if (c == null) {
        throw new IllegalArgumentException(k + " is not a chunk: a chunk target needs --chunking=tokens");
      }
      ps.setString(1, k.id());
      ps.setInt(2, c.count());
      ps.setString(3, k.id());
      ps.setInt(4, c.seq());
      ps.setInt(5, c.count());
      ps.setInt(6, c.start());
      ps.setInt(7, c.end());
      ps.setObject(8, row.getValue()); // binary float4[], as for rows
      ps.setString(9, fingerprint);
      setBytesOrNull(ps, 10, k.contentSha256());
    }
  }

  static final class FailureSetter implements JdbcIO.PreparedStatementSetter<KV<RowKey, EmbeddingFailure>> {
    private final String fingerprint;
    private final int maxAttempts;

    FailureSetter(String fingerprint, int maxAttempts) {
      this.fingerprint = fingerprint;
      this.maxAttempts = maxAttempts;
    }

    @Override
    public void setParameters(KV<RowKey, EmbeddingFailure> row, PreparedStatement ps) throws SQLException {
      EmbeddingFailure f = row.getValue();
      ps.setString(1, row.getKey().id());
      ps.setString(2, fingerprint);
      ps.setString(3, f.errorClass());
      // PostgreSQL text cannot hold NUL. A chunk's failure is its document's, naming the chunk.
      RowKey k = row.getKey();
      String message = f.message() == null ? null : f.message().replace('\0', ' ');
      RowKey.Chunk c = k.chunk();
      ps.setString(4, c != null ? "chunk " + c.seq() + " of " + c.count() + " (characters " + c.start() + "-"
          + c.end() + "): " + message : message);
      ps.setInt(5, f.retryable() ? 1 : maxAttempts);
      setBytesOrNull(ps, 6, row.getKey().contentSha256());
      ps.setLong(7, row.getKey().readAtMicros());
    }
  }
}
