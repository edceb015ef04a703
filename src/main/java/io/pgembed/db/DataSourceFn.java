package io.pgembed.db;

import javax.sql.DataSource;
import org.apache.beam.sdk.transforms.SerializableFunction;

/**
 * The per-JVM DataSource of a {@link Database}, as JdbcIO takes it: the password is resolved on the worker, never
 * shipped. Reads of the source take {@link #readOnly}: their transactions cannot write.
 *
 * <pre>{@code
 * JdbcIO.<T>write().withDataSourceProviderFn(new DataSourceFn(database))
 * JdbcIO.<T>read().withDataSourceProviderFn(DataSourceFn.readOnly(database))
 * }</pre>
 */
public final class DataSourceFn implements SerializableFunction<Void, DataSource> {
  private final Database database;
  private final boolean readOnly;

  public DataSourceFn(Database database) {
    this(database, false);
  }

  private DataSourceFn(Database database, boolean readOnly) {
    this.database = database;
    this.readOnly = readOnly;
  }

  /** Connections in read-only transactions: for every read of the source (a table, or the user's query). */
  public static DataSourceFn readOnly(Database database) {
    return new DataSourceFn(database, true);
  }

  @Override
  public DataSource apply(Void input) {
    return readOnly ? database.readOnlyDataSource() : database.dataSource();
  }
}
