package io.pgembed.write;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.pgembed.labels.Labels;

/**
 * How vectors reach the target ({@code --writeMethod}): {@code copy} (binary COPY of each batch into a temporary
 * staging table, then one upsert from it), {@code statements} (JdbcIO's batches of the one-row upsert), or
 * {@code auto}: copy where it can (a target of one vector per row, and a role that may create temporary tables),
 * else statements. Both give the same rows, values and failure records.
 */
public enum WriteMethod {
  AUTO,
  COPY,
  STATEMENTS;

  /** {@code auto}, {@code copy} or {@code statements}, as on the command line. */
  @JsonCreator
  public static WriteMethod parse(String value) {
    return Labels.parse(values(), value,
        "--writeMethod must be 'auto', 'copy' or 'statements', but was '" + value + "'");
  }

  @JsonValue
  public String label() {
    return Labels.of(this);
  }

  @Override
  public String toString() {
    return label();
  }
}
