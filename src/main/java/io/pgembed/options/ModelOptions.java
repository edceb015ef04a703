package io.pgembed.options;

import io.pgembed.model.ModelLoader;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Which model to run, where, and how to batch it. Shared by every command that embeds.
 *
 * <p>Precedence: the command line, then the environment variables ({@code EMBEDDING_DEVICE},
 * {@code EMBEDDING_WORKERS}, {@code EMBEDDING_BATCH_SIZE}), then a profile, then the defaults ({@link OptionSources}).
 */
public interface ModelOptions extends ModelSpecOptions {

  @Description("Where the model runs: cpu, cuda, cuda:N or auto (a GPU if the engine sees one, else cpu). Env: EMBEDDING_DEVICE.")
  @Default.String("auto")
  String getDevice();

  void setDevice(String value);

  @Description("Texts per forward pass. Env: EMBEDDING_BATCH_SIZE.")
  @Default.Integer(32)
  Integer getBatchSize();

  void setBatchSize(Integer value);

  @Description(
      "At most this many token slots (texts x longest length) per forward pass; 0: no cap. Keeps batches of long"
          + " texts small, which on CPU is faster (attention falls out of cache). Raise it on a GPU.")
  @Default.Integer(2048)
  Integer getMaxBatchTokens();

  void setMaxBatchTokens(Integer value);

  @Description("Concurrent embedding threads per JVM; each CPU worker gets cores/workers intra-op threads. Env: EMBEDDING_WORKERS.")
  @Default.Integer(1)
  Integer getWorkers();

  void setWorkers(Integer value);

  @Description("libtorch intra-op threads; 0 chooses cores/workers.")
  @Default.Integer(0)
  Integer getIntraOpThreads();

  void setIntraOpThreads(Integer value);

  @Description("libtorch inter-op threads; 0 chooses 1.")
  @Default.Integer(0)
  Integer getInterOpThreads();

  void setInterOpThreads(Integer value);

  /** The serializable loader these options describe. */
  static ModelLoader loaderOf(ModelOptions o) {
    if (o.getBatchSize() == null || o.getBatchSize() < 1) {
      throw new IllegalArgumentException("--batchSize must be >= 1, but was " + o.getBatchSize());
    }
    return ModelLoader.builder()
        .model(o.getModel())
        .device(o.getDevice())
        .pooling(o.getPooling())
        .normalize(o.getNormalize())
        .maxLength(o.getMaxLength())
        .threads(o.getIntraOpThreads(), o.getInterOpThreads())
        .workers(o.getWorkers())
        .build();
  }
}
