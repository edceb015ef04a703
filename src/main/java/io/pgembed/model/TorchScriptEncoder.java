package io.pgembed.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * A TorchScript text encoder in DJL's model layout, loaded through {@link Criteria}: a directory holding
 * {@code NAME.pt} (a traced Hugging Face model taking {@code input_ids, attention_mask} and, when
 * {@code serving.properties} says {@code includeTokenTypes=true}, {@code token_type_ids}) and {@code tokenizer.json}.
 * Its first output is taken as the last hidden state {@code [B, T, H]} (or, if 2-D, as already pooled).
 *
 * <p>No TorchScript file can be produced on the build machines (that needs Python and torch), so this path is not
 * exercised by the test suite; see the README.
 */
public final class TorchScriptEncoder implements EmbeddingModel {
  private final ZooModel<NDList, NDList> model;
  private final TextTokenizer tokenizer;
  private final ModelFingerprint fingerprint;
  private final boolean includeTokenTypes;
  private final int dimension;

  private TorchScriptEncoder(
      ZooModel<NDList, NDList> model, TextTokenizer tokenizer, ModelFingerprint fingerprint, boolean includeTokenTypes) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.fingerprint = fingerprint;
    this.includeTokenTypes = includeTokenTypes;
    try (EmbeddingPredictor p = newPredictor()) {
      // The output width is only known by running the model once.
      this.dimension = p.embedTexts(List.of("dimension probe"))[0].length;
    }
  }

  /** The {@code .pt} file DJL would load from {@code dir}: {@code DIRNAME.pt}, else the only {@code .pt}. */
  static Path findModelFile(Path dir) throws IOException {
    Path named = dir.resolve(dir.getFileName() + ".pt");
    if (Files.exists(named)) {
      return named;
    }
    Path found = null;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.pt")) {
      for (Path f : files) {
        if (found != null) {
          throw new IllegalArgumentException(
              dir + " holds several .pt files; name the model file " + dir.getFileName() + ".pt");
        }
        found = f;
      }
    }
    return found;
  }

  static TorchScriptEncoder load(Path dir, Path ptFile, Device device, Pooling pooling, boolean normalize, int maxLength)
      throws IOException {
    Properties serving = new Properties();
    Path props = dir.resolve("serving.properties");
    if (Files.exists(props)) {
      try (InputStream in = Files.newInputStream(props)) {
        serving.load(in);
      }
    }
    boolean tokenTypes = Boolean.parseBoolean(serving.getProperty("includeTokenTypes", "false"));
    int max = maxLength > 0 ? maxLength : Integer.parseInt(serving.getProperty("maxLength", "512"));
    Path tokenizerFile = dir.resolve("tokenizer.json");
    if (!Files.exists(tokenizerFile)) {
      throw new IllegalArgumentException("--model=" + dir + " has no tokenizer.json next to " + ptFile.getFileName());
    }
    TextTokenizer tokenizer;
    try (InputStream in = Files.newInputStream(tokenizerFile)) {
      tokenizer = TextTokenizer.fromJson(in, max);
    }
    String name = ptFile.getFileName().toString().replaceFirst("\\.pt$", "");
    Criteria<NDList, NDList> criteria =
        Criteria.builder()
            .setTypes(NDList.class, NDList.class)
            .optModelPath(dir)
            .optModelName(name)
            .optEngine("PyTorch")
            .optDevice(device)
            .optTranslator(new NoopTranslator())
            .build();
    try {
      ZooModel<NDList, NDList> zoo = criteria.loadModel();
      String key = DigestCache.fileKey(ptFile);
      ModelFingerprint fp = new ModelFingerprint(name, DigestCache.get(key == null ? null : "torchscript " + key, () -> {
        try {
          return sha256(ptFile);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }), pooling, normalize, max);
      return new TorchScriptEncoder(zoo, tokenizer, fp, tokenTypes);
    } catch (ModelNotFoundException | MalformedModelException e) {
      tokenizer.close();
      throw new IOException("DJL could not load the TorchScript model " + ptFile + ": " + e.getMessage(), e);
    }
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public ModelFingerprint fingerprint() {
    return fingerprint;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public Device device() {
    return model.getNDManager().getDevice();
  }

  @Override
  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public EmbeddingPredictor newPredictor() {
    Predictor<NDList, NDList> predictor = model.newPredictor();
    return new EmbeddingPredictor() {
      @Override
      public TextTokenizer tokenizer() {
        return tokenizer;
      }

      @Override
      public float[][] embed(TokenBatch batch) {
        try (NDManager scope = model.getNDManager().newSubManager()) {
          Shape shape = new Shape(batch.size(), batch.paddedLength());
          NDArray mask = scope.create(batch.mask, shape);
          NDList input = new NDList(scope.create(batch.ids, shape), mask);
          if (includeTokenTypes) {
            input.add(scope.create(batch.typeIds, shape));
          }
          NDList output = predictor.predict(input);
          output.attach(scope);
          NDArray hidden = output.get(0);
          NDArray pooled =
              hidden.getShape().dimension() == 3
                  ? fingerprint.pooling().apply(hidden, mask.toType(DataType.FLOAT32, false))
                  : hidden;
          if (fingerprint.normalize()) {
            pooled = Pooling.l2Normalize(pooled);
          }
          return Pooling.toRows(pooled);
        } catch (TranslateException e) {
          throw new IllegalStateException("TorchScript forward pass failed: " + e.getMessage(), e);
        }
      }

      @Override
      public void close() {
        predictor.close();
      }
    };
  }

  @Override
  public void close() {
    model.close();
    tokenizer.close();
  }
}
