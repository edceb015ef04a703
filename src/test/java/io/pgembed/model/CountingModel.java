package io.pgembed.model;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test double that counts, per JVM and name, how often each text was embedded; vectors are the wrapped model's.
 * A text embedded twice shows as a count of 2.
 */
public record CountingModel(ModelSpec inner, String name) implements ModelSpec {
  private static final Map<String, Map<String, AtomicInteger>> COUNTS = new ConcurrentHashMap<>();

  /** Text -> times embedded, under {@code name}. */
  public static Map<String, AtomicInteger> counts(String name) {
    return COUNTS.computeIfAbsent(name, n -> new ConcurrentHashMap<>());
  }

  @Override
  public EmbeddingModel load() {
    Map<String, AtomicInteger> counts = counts(name);
    return new ForwardingModel(inner.load(), p -> new ForwardingModel.Predictor(p) {
      @Override
      public LengthSortedBatches.Result embedAll(List<String> texts, int batchSize, int maxBatchTokens) {
        LengthSortedBatches.Result r = inner.embedAll(texts, batchSize, maxBatchTokens);
        texts.forEach(t -> counts.computeIfAbsent(t, k -> new AtomicInteger()).incrementAndGet());
        return r;
      }
    });
  }

  @Override
  public int workers() {
    return inner.workers();
  }

  @Override
  public ModelSpec onCpu() {
    return new CountingModel(inner.onCpu(), name);
  }
}
