package io.pgembed.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Models and texts shared by the tests of one JVM: loading the bundled model once saves seconds per class. */
public final class TestModels {
  private static EmbeddingModel bundled;

  private TestModels() {}

  /** The bundled all-MiniLM-L6-v2 on cpu. Never closed: it lives as long as the test JVM. */
  public static synchronized EmbeddingModel bundled() {
    if (bundled == null) {
      bundled = ModelLoader.builder().device("cpu").build().load();
    }
    return bundled;
  }

  /** A text of the parity corpus. */
  public record CorpusText(String id, String kind, String text) {}

  /** The 240 texts of src/test/resources/corpus/parity-texts.jsonl. */
  public static List<CorpusText> parityCorpus() {
    ObjectMapper json = new ObjectMapper();
    List<CorpusText> out = new ArrayList<>();
    try (InputStream in = TestModels.class.getResourceAsStream("/corpus/parity-texts.jsonl");
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        JsonNode n = json.readTree(line);
        out.add(new CorpusText(n.get("id").asText(), n.get("kind").asText(), n.get("text").asText()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * Writes a sentence-transformers directory from the bundled weights with CLS pooling: a real, different model
   * (same weights, another pooling), e.g. as a canary candidate.
   */
  public static java.nio.file.Path writeClsModel(java.nio.file.Path dir) throws IOException {
    ModelWeights weights;
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_ONNX)) {
      weights = OnnxWeights.read(in, "bundled");
    }
    ObjectMapper json = new ObjectMapper();
    json.writeValue(dir.resolve("config.json").toFile(), BertConfig.MINILM_L6.toJson(json));
    SafetensorsWeights.write(weights, dir.resolve("model.safetensors"));
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_TOKENIZER)) {
      java.nio.file.Files.copy(in, dir.resolve("tokenizer.json"));
    }
    java.nio.file.Files.writeString(dir.resolve("modules.json"),
        "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
            + "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
            + "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]");
    java.nio.file.Files.createDirectories(dir.resolve("1_Pooling"));
    java.nio.file.Files.writeString(dir.resolve("1_Pooling/config.json"),
        "{\"word_embedding_dimension\":384,\"pooling_mode_cls_token\":true,\"pooling_mode_mean_tokens\":false}");
    java.nio.file.Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\":256}");
    return dir;
  }

  public static double cosine(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("dimensions differ: " + a.length + " vs " + b.length);
    }
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }
}
