package io.pgembed.write;

import io.pgembed.db.Database;
import io.pgembed.db.RowKey;
import io.pgembed.db.SqlStates;
import io.pgembed.db.StagedUpsert;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The COPY write path ({@code --writeMethod=copy}) of a target with one vector per row: per batch of at most
 * {@code batchSize} vectors (and at the end of every bundle), one transaction that copies them in PostgreSQL's binary
 * format into the session's staging table and upserts them from it in one statement ({@link StagedUpsert}). The rows,
 * values and cleared failure records are the row-by-row upserts' ({@link VectorWriter#vectors}); so is the retry: a
 * batch that lost a deadlock (40P01) or a serialization check (40001) is rolled back and written again, 5 tries in
 * 2 minutes; any other error fails the bundle, which the runner tries again (the upsert makes a second write of the
 * same rows harmless). An id twice in one batch is written once, with the vector that came last.
 *
 * <pre>{@code
 * embedded.apply("Write vectors", CopyUpserts.of(database, StagedUpsert.of(names, layout), fingerprint, 500));
 * }</pre>
 */
public final class CopyUpserts extends PTransform<PCollection<KV<RowKey, float[]>>, PCollection<Void>> {
  private final Database database;
  private final StagedUpsert staged;
  private final String fingerprint;
  private final int batchSize;

  private CopyUpserts(Database database, StagedUpsert staged, String fingerprint, int batchSize) {
    this.database = database;
    this.staged = staged;
    this.fingerprint = fingerprint;
    this.batchSize = batchSize;
  }

  /** Upserts into {@code staged}'s target, {@code batchSize} (>= 1) vectors per COPY and transaction. */
  public static CopyUpserts of(Database database, StagedUpsert staged, String fingerprint, int batchSize) {
    return new CopyUpserts(database, staged, fingerprint, VectorWriter.checkBatchSize(batchSize));
  }

  @Override
  public PCollection<Void> expand(PCollection<KV<RowKey, float[]>> vectors) {
    return vectors.apply(ParDo.of(new CopyFn(database, staged, fingerprint, batchSize)));
  }

  static final class CopyFn extends DoFn<KV<RowKey, float[]>, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(CopyUpserts.class);
    private final Database database;
    private final StagedUpsert staged;
    private final String fingerprint;
    private final int batchSize;
    private transient Map<String, KV<RowKey, float[]>> batch;

    CopyFn(Database database, StagedUpsert staged, String fingerprint, int batchSize) {
      this.database = database;
      this.staged = staged;
      this.fingerprint = fingerprint;
      this.batchSize = batchSize;
    }

    @StartBundle
    public void startBundle() {
      batch = new LinkedHashMap<>();
    }

    @ProcessElement
    public void process(@Element KV<RowKey, float[]> row) throws Exception {
      batch.remove(row.getKey().id()); // the later vector of an id replaces the earlier, at the end of the batch
      batch.put(row.getKey().id(), row);
      if (batch.size() >= batchSize) {
        flush();
      }
    }

    @FinishBundle
    public void finishBundle() throws Exception {
      flush();
    }

    private void flush() throws SQLException, IOException, InterruptedException {
      if (batch.isEmpty()) {
        return;
      }
      byte[] data = BinaryCopy.encode(batch.values(), staged.stagesNativeVector());
      long giveUpAt = System.currentTimeMillis() + VectorWriter.RETRY_WITHIN.getMillis();
      long backoff = VectorWriter.FIRST_BACKOFF.getMillis();
      for (int attempt = 1; ; attempt++) {
        try {
          write(data);
          batch.clear();
          return;
        } catch (SQLException e) {
          if (!SqlStates.conflict(e) || attempt >= VectorWriter.TRIES
              || System.currentTimeMillis() + backoff > giveUpAt) {
            throw e;
          }
          LOG.warn("Writing {} vectors lost a conflict (SQLState {}): rolled back, writing them again in {} ms"
              + " (try {} of {})", batch.size(), e.getSQLState(), backoff, attempt + 1, VectorWriter.TRIES);
          Thread.sleep(backoff); // a backoff between tries of a conflict, as JdbcIO's retries
          backoff *= 2;
        }
      }
    }

    /** One transaction: stage, upsert, commit; rolled back on any error. */
    private void write(byte[] data) throws SQLException, IOException {
      try (Connection c = database.connect()) {
        c.setAutoCommit(false);
        try {
          try (Statement s = c.createStatement()) {
            s.execute(staged.createStagingStatement());
          }
          c.unwrap(PGConnection.class).getCopyAPI().copyIn(staged.copyStatement(), new ByteArrayInputStream(data));
          try (PreparedStatement ps = c.prepareStatement(staged.upsertStatement())) {
            ps.setString(1, fingerprint);
            ps.executeUpdate();
          }
          c.commit();
        } catch (SQLException | IOException | RuntimeException e) {
          try {
            c.rollback();
          } catch (SQLException suppressed) {
            e.addSuppressed(suppressed);
          }
          throw e;
        }
      }
    }
  }
}
