package io.pgembed.read;

import io.pgembed.db.Database;
import io.pgembed.pipeline.EmbeddingPlan;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * Reads the pending rows ({@link EmbeddingPlan#pendingQuery()}) with JdbcIO, streaming through a cursor (fetch
 * size, autocommit off) so the table is never materialized. Numeric ids are read in parallel partitions of the id
 * range ({@code readWithPartitions}); text and uuid ids through one query.
 *
 * <pre>{@code
 * PCollection<Artifact> pending = pipeline.apply("Read pending rows", new ArtifactSource(plan, 4, minId, maxId));
 * }</pre>
 */
public final class ArtifactSource extends PTransform<PBegin, PCollection<Artifact>> {
  public static final String NAMESPACE = "pgembed";
  private static final int FETCH_SIZE = 1000;

  private final EmbeddingPlan plan;
  private final int partitions;
  private final Long lowerBound;
  private final Long upperBound;

  /** {@code lowerBound}/{@code upperBound}: the pending ids' range for partitioned reads, or null for one query. */
  public ArtifactSource(EmbeddingPlan plan, int partitions, Long lowerBound, Long upperBound) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be >= 1, but was " + partitions);
    }
    this.plan = plan;
    this.partitions = partitions;
    this.lowerBound = lowerBound;
    this.upperBound = upperBound;
  }

  @Override
  public PCollection<Artifact> expand(PBegin input) {
    PCollection<Artifact> rows;
    if (plan.layout().numericId() && lowerBound != null && partitions > 1) {
      rows =
          input.apply(
              "Read partitions",
              JdbcIO.<Artifact, Long>readWithPartitions(TypeDescriptors.longs())
                  .withDataSourceProviderFn(new DataSourceFn(plan.database()))
                  .withTable("(" + plan.pendingQuery() + ") AS pending")
                  .withPartitionColumn("id")
                  .withLowerBound(lowerBound)
                  .withUpperBound(upperBound + 1) // the upper bound is exclusive
                  .withNumPartitions(partitions)
                  .withFetchSize(FETCH_SIZE)
                  .withRowMapper(new ArtifactRowMapper())
                  .withCoder(Artifact.Coder.of()));
    } else {
      rows =
          input.apply(
              "Read",
              JdbcIO.<Artifact>read()
                  .withDataSourceProviderFn(new DataSourceFn(plan.database()))
                  .withQuery(plan.pendingQuery())
                  .withFetchSize(FETCH_SIZE)
                  .withRowMapper(new ArtifactRowMapper())
                  .withCoder(Artifact.Coder.of()));
    }
    return rows.apply("Count read", ParDo.of(new CountFn())).setCoder(Artifact.Coder.of());
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder.add(DisplayData.item("source", plan.source().toString())).add(DisplayData.item("partitions", partitions));
  }

  /** Maps (id, text, sha) columns; a named class, since JdbcIO's display data cannot describe a lambda. */
  public static final class ArtifactRowMapper implements JdbcIO.RowMapper<Artifact> {
    @Override
    public Artifact mapRow(ResultSet rs) throws SQLException {
      return new Artifact(rs.getString("id"), rs.getString("text"), rs.getBytes("sha"));
    }
  }

  /** The per-JVM DataSource of a {@link Database}: the password is resolved on the worker, never shipped. */
  public static final class DataSourceFn implements SerializableFunction<Void, DataSource> {
    private final Database database;

    public DataSourceFn(Database database) {
      this.database = database;
    }

    @Override
    public DataSource apply(Void input) {
      return database.dataSource();
    }
  }

  public static final class CountFn extends DoFn<Artifact, Artifact> {
    private static final Counter ROWS_READ = Metrics.counter(NAMESPACE, "rows_read");

    @ProcessElement
    public void process(@Element Artifact a, OutputReceiver<Artifact> out) {
      ROWS_READ.inc();
      out.output(a);
    }
  }
}
