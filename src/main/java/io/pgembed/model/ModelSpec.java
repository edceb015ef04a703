package io.pgembed.model;

import java.io.Serializable;

/**
 * What a pipeline ships to its workers so that each JVM can load the model: small, serializable, and a value (equal
 * specs load equal models), so it also keys the per-JVM model cache. {@link ModelLoader} is the product's spec;
 * Tests wrap any spec with failures for recovery drills (their {@code InjectedFaults}).
 *
 * <pre>{@code
 * ModelSpec spec = ModelLoader.builder().model("all-minilm-l6-v2").device("cpu").build();
 * try (EmbeddingModel m = spec.load()) { ... }
 * }</pre>
 */
public interface ModelSpec extends Serializable {
  /** Loads the model onto its device; fails before any data is read if the device or the files are wrong. */
  EmbeddingModel load();

  /**
   * At most this many forward passes run at once per JVM on this model: libtorch's thread counts were chosen for
   * that many, and more would oversubscribe the CPU.
   */
  int workers();

  /** The same model on the CPU (same fingerprint): what a client with no GPU loads to check the target. */
  ModelSpec onCpu();
}
