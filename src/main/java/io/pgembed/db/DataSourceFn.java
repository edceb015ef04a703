package io.pgembed.db;

import javax.sql.DataSource;
import org.apache.beam.sdk.transforms.SerializableFunction;

/**
 * The per-JVM DataSource of a {@link Database}, as JdbcIO takes it: the password is resolved on the worker, never
 * shipped.
 *
 * <pre>{@code
 * JdbcIO.<T>write().withDataSourceProviderFn(new DataSourceFn(database))
 * }</pre>
 */
public final class DataSourceFn implements SerializableFunction<Void, DataSource> {
  private final Database database;

  public DataSourceFn(Database database) {
    this.database = database;
  }

  @Override
  public DataSource apply(Void input) {
    return database.dataSource();
  }
}
