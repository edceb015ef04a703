package io.pgembed.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.util.ArrayList;
import java.util.List;

/**
 * A BERT encoder written as DJL NDArray ops on the PyTorch engine: word, position and token-type embeddings, a
 * LayerNorm, then per layer multi-head self-attention and a feed-forward block (each with a residual and a
 * LayerNorm), then masked pooling and optional L2 normalization.
 *
 * <p>The weights live on the device in this object's manager and are shared by every thread; a forward pass owns
 * its intermediates in sub-managers. Results of an op land in the manager of its first operand, so activations
 * always come first ({@code x.add(bias)}, never {@code bias.add(x)}), or they would pile up beside the weights.
 * Each layer runs in its own sub-manager that is closed when the layer ends: libtorch then reuses the freed
 * memory instead of faulting in fresh pages, which was about 5x faster here than one manager per forward pass.
 */
public final class BertEncoder implements EmbeddingModel {
  private static final float MASKED = -1e9f;

  private final BertConfig config;
  private final NDManager manager;
  private final TextTokenizer tokenizer;
  private final ModelFingerprint fingerprint;
  private final NDArray wordEmbeddings;
  private final NDArray positionEmbeddings;
  private final NDArray typeEmbeddings;
  private final NDArray embNormWeight;
  private final NDArray embNormBias;
  private final List<Layer> layers = new ArrayList<>();

  private record Layer(
      NDArray qkvWeight,
      NDArray qkvBias,
      NDArray attnOutWeight,
      NDArray attnOutBias,
      NDArray attnNormWeight,
      NDArray attnNormBias,
      NDArray ffnInWeight,
      NDArray ffnInBias,
      NDArray ffnOutWeight,
      NDArray ffnOutBias,
      NDArray ffnNormWeight,
      NDArray ffnNormBias) {}

  /**
   * Copies the weights to the device. {@code source} names where they came from in errors.
   */
  public BertEncoder(
      BertConfig config,
      ModelWeights weights,
      TextTokenizer tokenizer,
      ModelFingerprint fingerprint,
      Device device,
      String source) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.fingerprint = fingerprint;
    if (tokenizer.maxLength() > config.maxPositions()) {
      throw new IllegalArgumentException(
          "maxLength " + tokenizer.maxLength() + " exceeds the model's max_position_embeddings "
              + config.maxPositions() + " (" + source + ")");
    }
    this.manager = NDManager.newBaseManager(device, "PyTorch");
    try {
      wordEmbeddings = load(weights, "embeddings.word_embeddings.weight", source);
      positionEmbeddings = load(weights, "embeddings.position_embeddings.weight", source);
      typeEmbeddings = load(weights, "embeddings.token_type_embeddings.weight", source);
      embNormWeight = load(weights, "embeddings.LayerNorm.weight", source);
      embNormBias = load(weights, "embeddings.LayerNorm.bias", source);
      checkShape(wordEmbeddings, config.vocabSize(), config.hiddenSize(), "embeddings.word_embeddings.weight", source);
      float scale = (float) (1.0 / Math.sqrt(config.headSize()));
      for (int i = 0; i < config.numLayers(); i++) {
        String p = "encoder.layer." + i + ".";
        layers.add(
            new Layer(
                fusedQkv(weights, p, source, scale, "weight"),
                fusedQkv(weights, p, source, scale, "bias"),
                load(weights, p + "attention.output.dense.weight", source),
                load(weights, p + "attention.output.dense.bias", source),
                load(weights, p + "attention.output.LayerNorm.weight", source),
                load(weights, p + "attention.output.LayerNorm.bias", source),
                load(weights, p + "intermediate.dense.weight", source),
                load(weights, p + "intermediate.dense.bias", source),
                load(weights, p + "output.dense.weight", source),
                load(weights, p + "output.dense.bias", source),
                load(weights, p + "output.LayerNorm.weight", source),
                load(weights, p + "output.LayerNorm.bias", source)));
      }
      if (weights.contains("encoder.layer." + config.numLayers() + ".attention.self.query.weight")) {
        throw new IllegalArgumentException(
            source + " has more than num_hidden_layers=" + config.numLayers() + " layers: config and weights disagree");
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  private NDArray load(ModelWeights weights, String name, String source) {
    WeightTensor t = weights.require(name, source);
    return manager.create(t.data(), new Shape(t.shape()));
  }

  private static void checkShape(NDArray a, long rows, long cols, String name, String source) {
    if (!a.getShape().equals(new Shape(rows, cols))) {
      throw new IllegalArgumentException(
          source + ": " + name + " has shape " + a.getShape() + ", config.json implies (" + rows + ", " + cols + ")");
    }
  }

  /** Query, key and value as one [3H, H] projection; the query part is pre-scaled by 1/sqrt(head size). */
  private NDArray fusedQkv(ModelWeights weights, String prefix, String source, float scale, String kind) {
    String base = prefix + "attention.self.";
    WeightTensor q = weights.require(base + "query." + kind, source);
    WeightTensor k = weights.require(base + "key." + kind, source);
    WeightTensor v = weights.require(base + "value." + kind, source);
    int n = q.data().length;
    float[] fused = new float[3 * n];
    for (int i = 0; i < n; i++) {
      fused[i] = q.data()[i] * scale;
    }
    System.arraycopy(k.data(), 0, fused, n, n);
    System.arraycopy(v.data(), 0, fused, 2 * n, n);
    long[] shape = q.shape().clone();
    shape[0] *= 3;
    return manager.create(fused, new Shape(shape));
  }

  @Override
  public ModelFingerprint fingerprint() {
    return fingerprint;
  }

  @Override
  public int dimension() {
    return config.hiddenSize();
  }

  @Override
  public Device device() {
    return manager.getDevice();
  }

  @Override
  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  public BertConfig config() {
    return config;
  }

  @Override
  public EmbeddingPredictor newPredictor() {
    // The forward pass keeps no state between calls, so a predictor is only a handle; it exists so that callers
    // treat every model alike (a TorchScript predictor is not thread-safe).
    return new StatelessPredictor(tokenizer, this::forward);
  }

  /** One forward pass; returns {@code [B][H]}. */
  public float[][] forward(TokenBatch batch) {
    int b = batch.size();
    int t = batch.paddedLength();
    try (NDManager fwd = manager.newSubManager()) {
      NDArray ids = fwd.create(batch.ids, new Shape(b, t));
      NDArray types = fwd.create(batch.typeIds, new Shape(b, t));
      NDArray mask = fwd.create(batch.maskFloat, new Shape(b, t));
      long[] positions = new long[t];
      for (int i = 0; i < t; i++) {
        positions[i] = i;
      }
      NDArray pos = fwd.create(positions, new Shape(1, t));
      // Padding gets a large negative score, so that softmax gives it exactly zero weight.
      NDArray maskBias = mask.sub(1f).muli(-MASKED).reshape(b, 1, 1, t);

      NDArray x =
          Embedding.embedding(ids, wordEmbeddings, SparseFormat.DENSE).singletonOrThrow()
              .addi(Embedding.embedding(pos, positionEmbeddings, SparseFormat.DENSE).singletonOrThrow())
              .addi(Embedding.embedding(types, typeEmbeddings, SparseFormat.DENSE).singletonOrThrow());
      x = layerNorm(x, embNormWeight, embNormBias);
      for (Layer layer : layers) {
        try (NDManager scope = fwd.newSubManager()) {
          x.attach(scope);
          NDArray out = layer(layer, x, maskBias, b, t);
          out.attach(fwd);
          x = out;
        }
      }
      NDArray pooled = fingerprint.pooling().apply(x, mask);
      if (fingerprint.normalize()) {
        pooled = Pooling.l2Normalize(pooled);
      }
      return Pooling.toRows(pooled);
    }
  }

  private NDArray layer(Layer w, NDArray x, NDArray maskBias, int b, int t) {
    int heads = config.numHeads();
    int hs = config.headSize();
    int h = config.hiddenSize();
    // [B, T, 3H] -> [3, B, heads, T, hs]
    NDArray qkv = Linear.linear(x, w.qkvWeight, w.qkvBias).singletonOrThrow()
        .reshape(b, t, 3, heads, hs)
        .transpose(2, 0, 3, 1, 4);
    NDArray q = qkv.get(0);
    NDArray k = qkv.get(1);
    NDArray v = qkv.get(2);
    NDArray probs = q.matMul(k.transpose(0, 1, 3, 2)).addi(maskBias).softmax(-1);
    NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, h);
    NDArray attn = Linear.linear(context, w.attnOutWeight, w.attnOutBias).singletonOrThrow().addi(x);
    attn = layerNorm(attn, w.attnNormWeight, w.attnNormBias);
    NDArray inner = activation(Linear.linear(attn, w.ffnInWeight, w.ffnInBias).singletonOrThrow());
    NDArray out = Linear.linear(inner, w.ffnOutWeight, w.ffnOutBias).singletonOrThrow().addi(attn);
    return layerNorm(out, w.ffnNormWeight, w.ffnNormBias);
  }

  private NDArray layerNorm(NDArray x, NDArray gamma, NDArray beta) {
    return LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), gamma, beta, (float) config.layerNormEps())
        .singletonOrThrow();
  }

  private NDArray activation(NDArray x) {
    switch (config.hiddenAct()) {
      case "gelu":
        return Activation.gelu(x);
      case "relu":
        return Activation.relu(x);
      default:
        // The tanh approximation (gelu_new, gelu_pytorch_tanh).
        NDArray inner = x.pow(3).muli(0.044715f).addi(x).muli((float) Math.sqrt(2 / Math.PI)).tanh().addi(1f);
        return inner.muli(x).muli(0.5f);
    }
  }

  @Override
  public void close() {
    manager.close();
    tokenizer.close();
  }
}
