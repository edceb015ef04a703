package io.pgembed.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.Set;

/** The shape of a BERT-family encoder, as in a Hugging Face {@code config.json}. */
public record BertConfig(
    int vocabSize,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int intermediateSize,
    int maxPositions,
    int typeVocabSize,
    double layerNormEps,
    String hiddenAct)
    implements Serializable {

  static final Set<String> SUPPORTED_ACTIVATIONS = Set.of("gelu", "gelu_new", "gelu_pytorch_tanh", "relu");

  /** all-MiniLM-L6-v2's config.json. */
  public static final BertConfig MINILM_L6 = new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12, "gelu");

  public BertConfig {
    if (hiddenSize % numHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numHeads);
    }
    if (!SUPPORTED_ACTIVATIONS.contains(hiddenAct)) {
      throw new IllegalArgumentException(
          "hidden_act '" + hiddenAct + "' is not supported; supported: " + SUPPORTED_ACTIVATIONS);
    }
  }

  public int headSize() {
    return hiddenSize / numHeads;
  }

  /** Parses a Hugging Face config.json; {@code source} names the file in errors. */
  public static BertConfig fromJson(JsonNode json, String source) {
    String type = json.path("model_type").asText("bert");
    if (!type.equals("bert")) {
      throw new IllegalArgumentException(
          source + ": model_type '" + type + "' is not supported; this encoder runs BERT-family models"
              + " (model_type 'bert': MiniLM, bge, e5, gte)");
    }
    return new BertConfig(
        required(json, "vocab_size", source),
        required(json, "hidden_size", source),
        required(json, "num_hidden_layers", source),
        required(json, "num_attention_heads", source),
        required(json, "intermediate_size", source),
        json.path("max_position_embeddings").asInt(512),
        json.path("type_vocab_size").asInt(2),
        json.path("layer_norm_eps").asDouble(1e-12),
        json.path("hidden_act").asText("gelu"));
  }

  /**
   * The shape read off an ONNX export, for a model directory without config.json: sizes from the embeddings and
   * layers, the attention heads from the graph ({@code heads}, 0 when it did not say: then an error asks for
   * config.json), GELU and eps 1e-12 (BERT's defaults). A config.json, where present, is read instead.
   */
  public static BertConfig inferred(ModelWeights weights, int heads, String source) {
    long[] words = weights.require("embeddings.word_embeddings.weight", source).shape();
    long[] positions = weights.require("embeddings.position_embeddings.weight", source).shape();
    long[] types = weights.require("embeddings.token_type_embeddings.weight", source).shape();
    long[] intermediate = weights.require("encoder.layer.0.intermediate.dense.weight", source).shape();
    int layers = 0;
    while (weights.contains("encoder.layer." + layers + ".output.dense.weight")) {
      layers++;
    }
    int hidden = (int) words[1];
    if (heads < 1) {
      throw new IllegalArgumentException(source + ": the graph does not say how many attention heads the model has,"
          + " and there is no config.json beside it; add the model's config.json (num_attention_heads)");
    }
    return new BertConfig((int) words[0], hidden, layers, heads, (int) intermediate[0], (int) positions[0],
        (int) types[0], 1e-12, "gelu");
  }

  public ObjectNode toJson(ObjectMapper mapper) {
    ObjectNode n = mapper.createObjectNode();
    n.putArray("architectures").add("BertModel");
    n.put("model_type", "bert");
    n.put("vocab_size", vocabSize);
    n.put("hidden_size", hiddenSize);
    n.put("num_hidden_layers", numLayers);
    n.put("num_attention_heads", numHeads);
    n.put("intermediate_size", intermediateSize);
    n.put("max_position_embeddings", maxPositions);
    n.put("type_vocab_size", typeVocabSize);
    n.put("layer_norm_eps", layerNormEps);
    n.put("hidden_act", hiddenAct);
    return n;
  }

  private static int required(JsonNode json, String field, String source) {
    JsonNode v = json.get(field);
    if (v == null || !v.canConvertToInt()) {
      throw new IllegalArgumentException(source + " has no integer '" + field + "'");
    }
    return v.asInt();
  }

}
