package io.pgembed.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Two more BERT-family models as the model directories users download from Hugging Face, laid out from the
 * langchain4j jars on the test classpath (fp32 ONNX exports and tokenizer.json), once per build under
 * {@code target/model-families/}:
 *
 * <ul>
 *   <li>{@link #bgeSmall()}: bge-small-en-v1.5 (12 layers, 384 dimensions, CLS pooling) as a sentence-transformers
 *       repository ships it: {@code onnx/model.onnx}, {@code tokenizer.json}, {@code config.json},
 *       {@code modules.json}, {@code 1_Pooling/config.json} (CLS), {@code sentence_bert_config.json} (512);
 *   <li>{@link #e5Small()}: e5-small-v2 (12 layers, mean pooling) as the bare minimum: {@code model.onnx} and
 *       {@code tokenizer.json}, nothing else (the shape is read off the weights, pooling is the default mean).
 * </ul>
 */
public final class ModelFamilies {
  private ModelFamilies() {}

  public static synchronized Path bgeSmall() {
    Path dir = Path.of("target", "model-families", "bge-small-en-v1.5").toAbsolutePath();
    try {
      copy("/bge-small-en-v1.5.onnx", dir.resolve("onnx").resolve("model.onnx"));
      copy("/bge-small-en-v1.5-tokenizer.json", dir.resolve("tokenizer.json"));
      write(dir.resolve("config.json"), "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\","
          + " \"hidden_act\": \"gelu\", \"hidden_size\": 384, \"intermediate_size\": 1536, \"layer_norm_eps\": 1e-12,"
          + " \"max_position_embeddings\": 512, \"num_attention_heads\": 12, \"num_hidden_layers\": 12,"
          + " \"type_vocab_size\": 2, \"vocab_size\": 30522}");
      write(dir.resolve("modules.json"), "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\":"
          + " \"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\","
          + " \"type\": \"sentence_transformers.models.Pooling\"}, {\"idx\": 2, \"name\": \"2\", \"path\":"
          + " \"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"}]");
      write(dir.resolve("1_Pooling").resolve("config.json"), "{\"word_embedding_dimension\": 384,"
          + " \"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}");
      write(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\": 512, \"do_lower_case\": true}");
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static synchronized Path e5Small() {
    Path dir = Path.of("target", "model-families", "e5-small-v2").toAbsolutePath();
    try {
      copy("/e5-small-v2.onnx", dir.resolve("model.onnx"));
      copy("/e5-small-v2-tokenizer.json", dir.resolve("tokenizer.json"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The ONNX file of a directory made here. */
  public static Path onnx(Path dir) {
    Path nested = dir.resolve("onnx").resolve("model.onnx");
    return Files.exists(nested) ? nested : dir.resolve("model.onnx");
  }

  private static void copy(String resource, Path to) throws IOException {
    try (InputStream in = ModelFamilies.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException(resource + " is not on the test classpath (the langchain4j-embeddings-* jars)");
      }
      if (Files.exists(to) && Files.size(to) > 0 && in.available() > 0
          && Files.getLastModifiedTime(to).toMillis() > 0 && sameSize(resource, to)) {
        return;
      }
      Files.createDirectories(to.getParent());
      Path partial = to.resolveSibling(to.getFileName() + ".partial");
      Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      Files.move(partial, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  private static boolean sameSize(String resource, Path to) throws IOException {
    java.net.URLConnection c = ModelFamilies.class.getResource(resource).openConnection();
    return c.getContentLengthLong() == Files.size(to);
  }

  private static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, text);
  }
}
