package io.pgembed.options;

import io.pgembed.db.Database;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Where the database is. The password is never an option: it comes from {@code PGPASSWORD}, {@code --passwordFile}
 * or {@code ~/.pgpass}, read by each JVM for itself.
 */
public interface DatabaseOptions extends PipelineOptions {
  @Description("PostgreSQL JDBC URL, without the password: jdbc:postgresql://host:5432/db")
  String getJdbcUrl();

  void setJdbcUrl(String value);

  @Description("Database user.")
  String getUsername();

  void setUsername(String value);

  @Description("A file holding only the database password (else PGPASSWORD, else ~/.pgpass).")
  String getPasswordFile();

  void setPasswordFile(String value);

  @Description(
      "Connections each JVM (the launcher, a queue worker, a Flink TaskManager) opens at most to this database: one"
          + " pool per JVM, shared by every step and job in it. A step that finds none free within 30 s fails with"
          + " a message naming this option.")
  @Default.Integer(Database.DEFAULT_POOL_SIZE)
  Integer getMaxPoolSize();

  void setMaxPoolSize(Integer value);

  /** The database these options name; the one check that {@code --jdbcUrl} was given. */
  static Database database(DatabaseOptions o) {
    if (o.getJdbcUrl() == null) {
      throw new IllegalArgumentException("--jdbcUrl is required, e.g. --jdbcUrl=jdbc:postgresql://localhost:5432/app");
    }
    if (o.getMaxPoolSize() == null || o.getMaxPoolSize() < 1) {
      throw new IllegalArgumentException("--maxPoolSize must be >= 1, but was " + o.getMaxPoolSize());
    }
    return new Database(o.getJdbcUrl(), o.getUsername(), o.getPasswordFile(), o.getMaxPoolSize());
  }
}
