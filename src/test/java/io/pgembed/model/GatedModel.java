package io.pgembed.model;

import ai.djl.Device;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A test double that holds its first forward pass at a gate: the pass announces itself ({@link #awaitEntered}),
 * then waits until the test opens the gate ({@link #open}), so a test can change the database while rows are
 * between their read and their write. Later passes go straight through. Vectors are the wrapped model's.
 * Gates are per name and per JVM (the DirectRunner runs in the test's JVM).
 */
public record GatedModel(ModelSpec inner, String gate) implements ModelSpec {
  private static final Map<String, CountDownLatch[]> GATES = new ConcurrentHashMap<>();

  private static CountDownLatch[] latches(String gate) {
    return GATES.computeIfAbsent(gate, g -> new CountDownLatch[] {new CountDownLatch(1), new CountDownLatch(1)});
  }

  /** Waits (at most {@code boundMs}) until the first forward pass reached the gate. */
  public static void awaitEntered(String gate, long boundMs) throws InterruptedException {
    if (!latches(gate)[0].await(boundMs, TimeUnit.MILLISECONDS)) {
      throw new AssertionError("no forward pass reached gate " + gate + " within " + boundMs + " ms");
    }
  }

  /** Lets the held pass, and every later one, through. */
  public static void open(String gate) {
    latches(gate)[1].countDown();
  }

  @Override
  public EmbeddingModel load() {
    EmbeddingModel model = inner.load();
    return new EmbeddingModel() {
      @Override
      public ModelFingerprint fingerprint() {
        return model.fingerprint();
      }

      @Override
      public int dimension() {
        return model.dimension();
      }

      @Override
      public Device device() {
        return model.device();
      }

      @Override
      public TextTokenizer tokenizer() {
        return model.tokenizer();
      }

      @Override
      public EmbeddingPredictor newPredictor() {
        EmbeddingPredictor p = model.newPredictor();
        return new EmbeddingPredictor() {
          @Override
          public TextTokenizer tokenizer() {
            return p.tokenizer();
          }

          @Override
          public float[][] embed(TokenBatch batch) {
            CountDownLatch[] l = latches(gate);
            l[0].countDown();
            try {
              if (!l[1].await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("gate " + gate + " was never opened");
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
            return p.embed(batch);
          }
        };
      }

      @Override
      public void close() {
        model.close();
      }
    };
  }

  @Override
  public int workers() {
    return inner.workers();
  }

  @Override
  public ModelSpec onCpu() {
    return new GatedModel(inner.onCpu(), gate);
  }
}
