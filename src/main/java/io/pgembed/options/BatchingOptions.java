package io.pgembed.options;

import io.pgembed.batch.BatchMode;
import io.pgembed.write.WriteMethod;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * How rows are read, grouped for the model and written. A group (what {@code GroupIntoBatches} forms) is embedded in
 * one or more length-sorted forward passes, whose sizes ({@code --batchSize}, {@code --maxBatchTokens}) are in
 * {@link ModelOptions}.
 */
public interface BatchingOptions extends PipelineOptions {
  @Description("Rows per write: per JDBC batch (statements) or per COPY and upsert (copy).")
  @Default.Integer(500)
  Integer getWriteBatchSize();

  void setWriteBatchSize(Integer value);

  @Description(
      "How vectors are written: copy (binary COPY of each --writeBatchSize batch into a temporary staging table,"
          + " then one upsert from it), statements (JDBC batches of a one-row upsert), or auto: copy for a target"
          + " of one vector per row where the role may create temporary tables, else statements. The same rows,"
          + " values and failure records either way.")
  @Default.Enum("AUTO")
  WriteMethod getWriteMethod();

  void setWriteMethod(WriteMethod value);

  @Description("Batch by count (count) or by a token budget of --maxBatchTokens per batch (tokens).")
  @Default.Enum("COUNT")
  BatchMode getBatchMode();

  void setBatchMode(BatchMode value);

  @Description("Longest wait for a group (what GroupIntoBatches forms; embedded in one or more forward passes) to fill, in ms.")
  @Default.Long(2000)
  Long getMaxBufferingMs();

  void setMaxBufferingMs(Long value);

  @Description("Group rows of similar length into the same batches (less padding).")
  @Default.Boolean(true)
  Boolean getLengthBuckets();

  void setLengthBuckets(Boolean value);

  @Description(
      "At most this many rows read but not yet written (0: no bound). On the DirectRunner a run goes in waves of"
          + " at most this many pending rows, in id order, each written before the next is read; in continuous"
          + " mode each poll reads at most this many. Flink bounds memory with its own backpressure.")
  @Default.Integer(10000)
  Integer getMaxInFlightRows();

  void setMaxInFlightRows(Integer value);

  @Description("Partitions for parallel reads of numeric ids; 0 chooses 2 x workers.")
  @Default.Integer(0)
  Integer getReadPartitions();

  void setReadPartitions(Integer value);
}
