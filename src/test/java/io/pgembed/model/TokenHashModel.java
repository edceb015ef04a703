package io.pgembed.model;

import ai.djl.Device;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A test double for transform-level tests: the bundled model's real tokenizer, and instead of the encoder a cheap
 * deterministic function of a text's token ids (each token adds a fixed pseudo-random vector; the sum is
 * L2-normalized). It needs no libtorch, loads in milliseconds, and gives every text the same vector alone or in any
 * padded batch, so a test can state each row's exact expected vector. The product's transforms cannot tell it from
 * a real model; the end-to-end tests keep running the real one.
 */
public record TokenHashModel(int dimension, int maxLength, int workers) implements ModelSpec {

  /** 8 dimensions, 256 tokens, 1 worker. */
  public static TokenHashModel small() {
    return new TokenHashModel(8, 256, 1);
  }

  @Override
  public EmbeddingModel load() {
    TextTokenizer tokenizer;
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_TOKENIZER)) {
      tokenizer = TextTokenizer.fromJson(in, maxLength);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ModelFingerprint fp = new ModelFingerprint("token-hash", "0".repeat(64), Pooling.MEAN, true, maxLength);
    return new Model(this, tokenizer, fp);
  }

  @Override
  public ModelSpec onCpu() {
    return this;
  }

  private static final java.util.Map<TokenHashModel, EmbeddingModel> LOADED =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The expected vector of one text: what the model gives it alone. */
  public float[] vectorOf(String text) {
    EmbeddingModel m = LOADED.computeIfAbsent(this, TokenHashModel::load);
    return m.newPredictor().embedTexts(java.util.List.of(text))[0];
  }

  private record Model(TokenHashModel spec, TextTokenizer tokenizer, ModelFingerprint fingerprint)
      implements EmbeddingModel {
    @Override
    public int dimension() {
      return spec.dimension();
    }

    @Override
    public Device device() {
      return Device.cpu();
    }

    @Override
    public EmbeddingPredictor newPredictor() {
      return new Predictor(this);
    }

    @Override
    public void close() {
      tokenizer.close();
    }
  }

  private record Predictor(Model model) implements EmbeddingPredictor {
    @Override
    public TextTokenizer tokenizer() {
      return model.tokenizer();
    }

    @Override
    public float[][] embed(TokenBatch batch) {
      TokenHashModel spec = model.spec();
      float[][] out = new float[batch.batch][spec.dimension()];
      for (int b = 0; b < batch.batch; b++) {
        double[] sum = new double[spec.dimension()];
        for (int t = 0; t < batch.length; t++) {
          int i = b * batch.length + t;
          if (batch.mask[i] == 1) {
            for (int d = 0; d < sum.length; d++) {
              sum[d] += Math.floorMod(batch.ids[i] * 2654435761L + d * 40503L, 1000) / 1000.0 - 0.5;
            }
          }
        }
        double norm = 0;
        for (double v : sum) {
          norm += v * v;
        }
        for (int d = 0; d < sum.length; d++) {
          out[b][d] = (float) (sum[d] / Math.sqrt(norm));
        }
      }
      return out;
    }
  }
}
