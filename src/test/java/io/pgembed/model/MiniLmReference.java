package io.pgembed.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.OnnxEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * The reference implementation: ONNX Runtime running all-MiniLM-L6-v2 through langchain4j, from the same jar.
 *
 * <p>langchain4j's stock {@code AllMiniLmL6V2EmbeddingModel} keeps the tokenizer.json's truncation, which is 128
 * tokens; sentence-transformers (and this project) use 256. So the reference is langchain4j's
 * {@link OnnxEmbeddingModel} over the same ONNX file, with the tokenizer's truncation set to {@code maxLength}.
 * It embeds one text per ONNX Runtime call, unpadded, mean-pooled and L2-normalized.
 */
public final class MiniLmReference {
  private static Path dir;
  private final OnnxEmbeddingModel model;

  private MiniLmReference(OnnxEmbeddingModel model) {
    this.model = model;
  }

  public static MiniLmReference open(int maxLength, Executor executor) throws IOException {
    Path d = extracted();
    ObjectMapper json = new ObjectMapper();
    ObjectNode tokenizer;
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_TOKENIZER)) {
      tokenizer = (ObjectNode) json.readTree(in);
    }
    ((ObjectNode) tokenizer.get("truncation")).put("max_length", maxLength);
    Path tok = d.resolve("tokenizer-" + maxLength + ".json");
    json.writeValue(tok.toFile(), tokenizer);
    return new MiniLmReference(new OnnxEmbeddingModel(d.resolve("model.onnx"), tok, PoolingMode.MEAN, executor));
  }

  private static synchronized Path extracted() throws IOException {
    if (dir == null) {
      dir = Files.createTempDirectory("minilm-reference");
      dir.toFile().deleteOnExit();
      try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_ONNX)) {
        Files.copy(in, dir.resolve("model.onnx"), StandardCopyOption.REPLACE_EXISTING);
      }
      dir.resolve("model.onnx").toFile().deleteOnExit();
    }
    return dir;
  }

  public float[] embed(String text) {
    return model.embed(text).content().vector();
  }

  public List<float[]> embedAll(List<String> texts) {
    return model.embedAll(texts.stream().map(TextSegment::from).toList()).content().stream()
        .map(Embedding::vector)
        .toList();
  }
}
