package io.pgembed.write;

import io.pgembed.embed.EmbeddedRow;
import io.pgembed.embed.FailedRow;
import io.pgembed.pipeline.EmbeddingPlan;
import io.pgembed.read.ArtifactSource;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import org.apache.beam.sdk.io.jdbc.JdbcIO;

/**
 * JdbcIO batch writes: vectors as upserts into the target table (a rerun never duplicates a row), failures as
 * upserts into the failures table.
 */
public final class VectorWriter {
  private VectorWriter() {}

  public static JdbcIO.Write<EmbeddedRow> vectors(EmbeddingPlan plan, int batchSize) {
    return JdbcIO.<EmbeddedRow>write()
        .withDataSourceProviderFn(new ArtifactSource.DataSourceFn(plan.database()))
        .withStatement(plan.upsertStatement())
        .withPreparedStatementSetter(new VectorSetter(plan.layout().pgvector(), plan.fingerprint()))
        .withBatchSize(batchSize);
  }

  public static JdbcIO.Write<FailedRow> failures(EmbeddingPlan plan, int batchSize) {
    return JdbcIO.<FailedRow>write()
        .withDataSourceProviderFn(new ArtifactSource.DataSourceFn(plan.database()))
        .withStatement(plan.failureStatement())
        .withPreparedStatementSetter(new FailureSetter(plan.fingerprint(), plan.maxAttempts()))
        .withBatchSize(batchSize);
  }

  static void setBytesOrNull(PreparedStatement ps, int index, byte[] value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.BINARY);
    } else {
      ps.setBytes(index, value);
    }
  }

  static final class VectorSetter implements JdbcIO.PreparedStatementSetter<EmbeddedRow> {
    private final boolean pgvector;
    private final String fingerprint;

    VectorSetter(boolean pgvector, String fingerprint) {
      this.pgvector = pgvector;
      this.fingerprint = fingerprint;
    }

    @Override
    public void setParameters(EmbeddedRow row, PreparedStatement ps) throws SQLException {
      ps.setString(1, row.id());
      ps.setString(2, row.id());
      ps.setString(3, row.literal(pgvector));
      ps.setString(4, fingerprint);
      setBytesOrNull(ps, 5, row.contentSha256());
    }
  }

  static final class FailureSetter implements JdbcIO.PreparedStatementSetter<FailedRow> {
    private final String fingerprint;
    private final int maxAttempts;

    FailureSetter(String fingerprint, int maxAttempts) {
      this.fingerprint = fingerprint;
      this.maxAttempts = maxAttempts;
    }

    @Override
    public void setParameters(FailedRow row, PreparedStatement ps) throws SQLException {
      ps.setString(1, row.id());
      ps.setString(2, fingerprint);
      ps.setString(3, row.errorClass());
      // PostgreSQL text cannot hold NUL.
      ps.setString(4, row.message() == null ? null : row.message().replace('\0', ' '));
      ps.setInt(5, row.retryable() ? 1 : maxAttempts);
      setBytesOrNull(ps, 6, row.contentSha256());
    }
  }

}
