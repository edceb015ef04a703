package io.pgembed.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face / sentence-transformers model directory: the weights as {@code model.safetensors}, or as an ONNX
 * export ({@code model.onnx} or {@code onnx/model.onnx}, read as plain fp32 tensors: no ONNX Runtime), and
 * {@code tokenizer.json}; where present {@code config.json} (a BERT-family config; required beside safetensors,
 * inferred from an ONNX export's weights when missing), {@code modules.json} (a {@code Normalize} module turns
 * normalization on), {@code 1_Pooling/config.json} (mean or CLS) and {@code sentence_bert_config.json}
 * ({@code max_seq_length}). The {@link ModelLoader}'s own pooling, normalization and length override what the
 * directory says.
 */
final class SentenceTransformersDirectory {
  private SentenceTransformersDirectory() {}

  /** The ONNX export in {@code dir}: model.onnx, or onnx/model.onnx (the Hugging Face Optimum layout); or null. */
  static Path onnxFile(Path dir) {
    for (Path p : new Path[] {dir.resolve("model.onnx"), dir.resolve("onnx").resolve("model.onnx")}) {
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  /** Whether {@code dir} holds weights this class reads. */
  static boolean holdsWeights(Path dir) {
    return Files.exists(dir.resolve("model.safetensors")) || onnxFile(dir) != null;
  }

  static EmbeddingModel load(Path dir, Device dev, ModelLoader overrides) throws IOException {
    Path configFile = dir.resolve("config.json");
    ModelWeights weights;
    BertConfig config;
    Path weightsFile = Files.exists(dir.resolve("model.safetensors")) ? dir.resolve("model.safetensors") : null;
    if (weightsFile != null) {
      config = BertConfig.fromJson(ModelLoader.readJson(configFile), configFile.toString());
      weights = SafetensorsWeights.read(dir.resolve("model.safetensors"));
    } else {
      Path onnx = onnxFile(dir);
      weightsFile = onnx;
      OnnxWeights.Export export;
      try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(onnx), 1 << 20)) {
        export = OnnxWeights.readExport(in, onnx.toString());
      }
      weights = export.weights();
      config = Files.exists(configFile)
          ? BertConfig.fromJson(ModelLoader.readJson(configFile), configFile.toString())
          : BertConfig.inferred(weights, export.attentionHeads(), onnx.toString());
    }
    Pooling defaultPooling = Pooling.MEAN;
    boolean defaultNormalize = true;
    Path modules = dir.resolve("modules.json");
    if (Files.exists(modules)) {
      defaultNormalize = false;
      for (JsonNode module : ModelLoader.readJson(modules)) {
        String type = module.path("type").asText();
        if (type.endsWith(".Normalize")) {
          defaultNormalize = true;
        } else if (type.endsWith(".Pooling")) {
          defaultPooling = poolingFrom(dir.resolve(module.path("path").asText()).resolve("config.json"));
        }
      }
    } else if (Files.exists(dir.resolve("1_Pooling/config.json"))) {
      defaultPooling = poolingFrom(dir.resolve("1_Pooling/config.json"));
    }
    int max = overrides.maxLength();
    if (max == 0) {
      Path st = dir.resolve("sentence_bert_config.json");
      max = Files.exists(st) ? ModelLoader.readJson(st).path("max_seq_length").asInt(512) : 512;
      max = Math.min(max, config.maxPositions());
    }
    Path tokenizerFile = dir.resolve("tokenizer.json");
    if (!Files.exists(tokenizerFile)) {
      throw new IllegalArgumentException("--model=" + dir + " has no tokenizer.json (save it with the fast tokenizer)");
    }
    TextTokenizer tokenizer;
    try (InputStream in = Files.newInputStream(tokenizerFile)) {
      tokenizer = TextTokenizer.fromJson(in, max);
    }
    ModelFingerprint fp =
        new ModelFingerprint(
            dir.getFileName().toString(), DigestCache.get(DigestCache.fileKey(weightsFile), weights::sha256),
            overrides.poolingOr(defaultPooling),
            overrides.normalizeOr(defaultNormalize), max);
    return new BertEncoder(config, weights, tokenizer, fp, dev, dir.toString());
  }

  private static Pooling poolingFrom(Path poolingConfig) throws IOException {
    if (!Files.exists(poolingConfig)) {
      return Pooling.MEAN;
    }
    JsonNode json = ModelLoader.readJson(poolingConfig);
    if (json.path("pooling_mode_cls_token").asBoolean(false)) {
      return Pooling.CLS;
    }
    if (json.path("pooling_mode_mean_tokens").asBoolean(false)) {
      return Pooling.MEAN;
    }
    throw new IllegalArgumentException(
        poolingConfig + " asks for a pooling mode other than mean or cls, which is not supported; pass --pooling");
  }

}
