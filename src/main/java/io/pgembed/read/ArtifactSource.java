package io.pgembed.read;

import io.pgembed.db.DataSourceFn;
import io.pgembed.db.Database;
import io.pgembed.db.RowKey;
import io.pgembed.metrics.EmbeddingMetrics;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.NullableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Reads pending rows with JdbcIO: a query of (id, text, sha) columns, streamed through a cursor (fetch size,
 * autocommit off) so the table is never materialized. With an id range, numeric ids are read in parallel partitions
 * of it ({@code readWithPartitions}); otherwise through one query.
 *
 * <pre>{@code
 * PCollection<KV<RowKey, String>> pending =
 *     pipeline.apply("Read pending rows", ArtifactSource.query(database, tables.pendingQuery(fp)).withPartitions(4, 1, 9000));
 * }</pre>
 */
public final class ArtifactSource extends PTransform<PBegin, PCollection<KV<RowKey, String>>> {
  /** (id, sha) keys and nullable texts. */
  public static final KvCoder<RowKey, String> CODER =
      KvCoder.of(RowKey.Coder.of(), NullableCoder.of(StringUtf8Coder.of()));
  static final int FETCH_SIZE = 1000;

  private final Database database;
  private final String query;
  private final int partitions;
  private final Long lowerBound;
  private final Long upperBound;

  private ArtifactSource(Database database, String query, int partitions, Long lowerBound, Long upperBound) {
    this.database = database;
    this.query = query;
    this.partitions = partitions;
    this.lowerBound = lowerBound;
    this.upperBound = upperBound;
  }

  /** Reads {@code query} (columns id, text, sha) through one cursor. */
  public static ArtifactSource query(Database database, String query) {
    if (database == null || query == null) {
      throw new IllegalArgumentException("database and query must not be null");
    }
    return new ArtifactSource(database, query, 1, null, null);
  }

  /**
   * Reads in {@code partitions} parallel queries over the numeric ids {@code lowerBound..upperBound} (inclusive);
   * null bounds (nothing pending, or ids that are not numbers) keep one query.
   */
  public ArtifactSource withPartitions(int partitions, Long lowerBound, Long upperBound) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1, but was " + partitions);
    }
    return new ArtifactSource(database, query, partitions, lowerBound, upperBound);
  }

  @Override
  public PCollection<KV<RowKey, String>> expand(PBegin input) {
    PCollection<KV<RowKey, String>> rows;
    if (lowerBound != null && upperBound != null && partitions > 1) {
      rows =
          input.apply(
              "Read partitions",
              JdbcIO.<KV<RowKey, String>, Long>readWithPartitions(TypeDescriptors.longs())
                  .withDataSourceProviderFn(DataSourceFn.readOnly(database))
                  .withTable("(" + query + ") AS pending")
                  .withPartitionColumn("id")
                  .withLowerBound(lowerBound)
                  .withUpperBound(upperBound + 1) // the upper bound is exclusive
                  .withNumPartitions(partitions)
                  .withFetchSize(FETCH_SIZE)
                  .withRowMapper(new PendingRowMapper())
                  .withCoder(CODER));
    } else {
      rows =
          input.apply(
              "Read",
              JdbcIO.<KV<RowKey, String>>read()
                  .withDataSourceProviderFn(DataSourceFn.readOnly(database))
                  .withQuery(query)
                  .withFetchSize(FETCH_SIZE)
                  .withRowMapper(new PendingRowMapper())
                  .withCoder(CODER));
    }
    return rows.apply("Count read", ParDo.of(new CountReadFn())).setCoder(CODER);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("database", database.toString())).add(DisplayData.item("partitions", partitions));
  }

  /** Maps (id, text, sha) columns; a named class, since JdbcIO's display data cannot describe a lambda. */
  public static final class PendingRowMapper implements JdbcIO.RowMapper<KV<RowKey, String>> {
    @Override
    public KV<RowKey, String> mapRow(ResultSet rs) throws SQLException {
      return KV.of(new RowKey(rs.getString("id"), rs.getBytes("sha"), rs.getLong("read_at")), rs.getString("text"));
    }
  }

  /** Counts the rows read. */
  static final class CountReadFn extends DoFn<KV<RowKey, String>, KV<RowKey, String>> {
    @ProcessElement
    public void process(@Element KV<RowKey, String> row, OutputReceiver<KV<RowKey, String>> out) {
      EmbeddingMetrics.ROWS_READ.inc();
      out.output(row);
    }
  }
}
