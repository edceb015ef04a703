package io.pgembed.model;

import ai.djl.engine.EngineException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A model that fails on purpose, for recovery drills and tests: it wraps any {@link ModelSpec} and its forward
 * passes throw when a text matches {@code failOnTextMatching} (a poison row), or when a pass would hold more than
 * {@code failAboveTokens} token slots (as an engine out of memory does), and optionally take {@code slowMillis}
 * longer. Everything else, vectors and fingerprint included, is the wrapped model's. The embed step cannot tell it
 * from a real failure, which is the point: the fault injection lives here, not in the pipeline.
 *
 * <pre>{@code
 * ModelSpec drill = InjectedFaults.of(ModelLoader.builder().build()).failOnTextMatching("^POISON");
 * }</pre>
 */
public record InjectedFaults(
    ModelSpec model, String failOnTextMatching, int failAboveTokens, boolean outOfHeap, long slowMillis,
    String corruptTextMatching, float corruptValue)
    implements ModelSpec {

  public InjectedFaults {
    if (model == null) {
      throw new IllegalArgumentException("model must not be null");
    }
    if (failOnTextMatching != null) {
      Pattern.compile(failOnTextMatching); // a bad expression fails here, not on a worker
    }
    if (corruptTextMatching != null) {
      Pattern.compile(corruptTextMatching);
    }
    if (failAboveTokens < 0 || slowMillis < 0) {
      throw new IllegalArgumentException(
          "failAboveTokens and slowMillis must be >= 0, but were " + failAboveTokens + " and " + slowMillis);
    }
  }

  /** No faults yet: add them with the {@code withX} methods. */
  public static InjectedFaults of(ModelSpec model) {
    return new InjectedFaults(model, null, 0, false, 0, null, 0);
  }

  /** A forward pass over a text this regular expression finds throws {@link InjectedFailure}. */
  public InjectedFaults failOnTextMatching(String regex) {
    return new InjectedFaults(model, regex, failAboveTokens, outOfHeap, slowMillis, corruptTextMatching,
        corruptValue);
  }

  /** A forward pass of more than {@code tokens} token slots (texts x longest) throws an {@link EngineException}. */
  public InjectedFaults failAboveTokens(int tokens) {
    return new InjectedFaults(model, failOnTextMatching, tokens, false, slowMillis, corruptTextMatching,
        corruptValue);
  }

  /**
   * A forward pass of more than {@code tokens} token slots throws {@link OutOfMemoryError}, as a JVM whose heap a
   * huge batch exhausted does.
   */
  public InjectedFaults outOfHeapAboveTokens(int tokens) {
    return new InjectedFaults(model, failOnTextMatching, tokens, true, slowMillis, corruptTextMatching,
        corruptValue);
  }

  /** Every forward pass takes {@code millis} longer. */
  public InjectedFaults slowMillis(long millis) {
    return new InjectedFaults(model, failOnTextMatching, failAboveTokens, outOfHeap, millis, corruptTextMatching,
        corruptValue);
  }

  /**
   * The vector of a text this regular expression finds comes back with every component {@code value}: NaN or an
   * infinity (as a numerically broken model or a bad GPU gives), or 0 (a zero vector, which has no direction).
   */
  public InjectedFaults corruptTextMatching(String regex, float value) {
    return new InjectedFaults(model, failOnTextMatching, failAboveTokens, outOfHeap, slowMillis, regex, value);
  }

  @Override
  public EmbeddingModel load() {
    Pattern marker = failOnTextMatching == null ? null : Pattern.compile(failOnTextMatching);
    Pattern corrupt = corruptTextMatching == null ? null : Pattern.compile(corruptTextMatching);
    return new ForwardingModel(model.load(), p -> new Predictor(p, this, marker, corrupt));
  }

  @Override
  public int workers() {
    return model.workers();
  }

  @Override
  public ModelSpec onCpu() {
    return new InjectedFaults(model.onCpu(), failOnTextMatching, failAboveTokens, outOfHeap, slowMillis,
        corruptTextMatching, corruptValue);
  }

  /** What a text matching {@link #failOnTextMatching} throws. */
  public static final class InjectedFailure extends RuntimeException {
    InjectedFailure(String message) {
      super(message);
    }
  }

  private static final class Predictor extends ForwardingModel.Predictor {
    private final InjectedFaults faults;
    private final Pattern marker;
    private final Pattern corrupt;

    Predictor(EmbeddingPredictor inner, InjectedFaults faults, Pattern marker, Pattern corrupt) {
      super(inner);
      this.faults = faults;
      this.marker = marker;
      this.corrupt = corrupt;
    }

    @Override
    public float[][] embed(TokenBatch batch) {
      if (faults.failAboveTokens > 0 && batch.paddedTokens() > faults.failAboveTokens && faults.outOfHeap) {
        throw new OutOfMemoryError("injected: Java heap space for a forward pass of " + batch.paddedTokens()
            + " token slots, above " + faults.failAboveTokens);
      }
      if (faults.failAboveTokens > 0 && batch.paddedTokens() > faults.failAboveTokens) {
        throw new EngineException(
            "injected out of memory: a forward pass of " + batch.paddedTokens() + " token slots, above "
                + faults.failAboveTokens);
      }
      if (faults.slowMillis > 0) {
        try {
          Thread.sleep(faults.slowMillis); // the injected slowness itself
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return inner.embed(batch);
    }

    @Override
    public LengthSortedBatches.Result embedAll(List<String> texts, int batchSize, int maxBatchTokens) {
      if (marker != null) {
        for (String t : texts) {
          if (marker.matcher(t).find()) {
            throw new InjectedFailure("a text matched the injected fault /" + faults.failOnTextMatching + "/");
          }
        }
      }
      // Per-pass faults need this wrapper's embed() on every pass; without them the wrapped predictor makes the
      // passes itself, so wrappers nest (each one's text faults apply).
      LengthSortedBatches.Result r = faults.failAboveTokens > 0 || faults.slowMillis > 0
          ? super.embedAll(texts, batchSize, maxBatchTokens)
          : inner.embedAll(texts, batchSize, maxBatchTokens);
      if (corrupt != null) {
        for (int i = 0; i < texts.size(); i++) {
          if (corrupt.matcher(texts.get(i)).find()) {
            java.util.Arrays.fill(r.vectors()[i], faults.corruptValue);
          }
        }
      }
      return r;
    }

  }
}
