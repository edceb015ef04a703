package io.pgembed.model;

import ai.djl.Device;
import java.util.function.Function;

/**
 * A model that forwards everything to {@code inner}, its predictors made by {@code predictors} around the inner
 * ones: what the tests' wrappers ({@link InjectedFaults}, {@link HeldModel}) share.
 */
public record ForwardingModel(EmbeddingModel inner, Function<EmbeddingPredictor, EmbeddingPredictor> predictors)
    implements EmbeddingModel {
  @Override
  public ModelFingerprint fingerprint() {
    return inner.fingerprint();
  }

  @Override
  public int dimension() {
    return inner.dimension();
  }

  @Override
  public Device device() {
    return inner.device();
  }

  @Override
  public TextTokenizer tokenizer() {
    return inner.tokenizer();
  }

  @Override
  public EmbeddingPredictor newPredictor() {
    return predictors.apply(inner.newPredictor());
  }

  @Override
  public void close() {
    inner.close();
  }

  /** A predictor that forwards to {@code inner}; a test's wrapper overrides what it changes. */
  public abstract static class Predictor implements EmbeddingPredictor {
    protected final EmbeddingPredictor inner;

    protected Predictor(EmbeddingPredictor inner) {
      this.inner = inner;
    }

    @Override
    public TextTokenizer tokenizer() {
      return inner.tokenizer();
    }

    @Override
    public float[][] embed(TokenBatch batch) {
      return inner.embed(batch);
    }

    @Override
    public void close() {
      inner.close();
    }
  }
}
