package io.pgembed.model;

import ai.djl.Device;

/**
 * A loaded text-embedding model: weights on one device, shared by every thread of the JVM. Each thread embeds
 * through its own {@link EmbeddingPredictor}.
 *
 * <pre>{@code
 * try (EmbeddingModel model = ModelLoader.builder().build().load();
 *     EmbeddingPredictor p = model.newPredictor()) {
 *   float[][] vectors = p.embedTexts(List.of("hello", "world"));
 * }
 * }</pre>
 */
public interface EmbeddingModel extends AutoCloseable {
  ModelFingerprint fingerprint();

  int dimension();

  Device device();

  TextTokenizer tokenizer();

  EmbeddingPredictor newPredictor();

  @Override
  void close();
}
