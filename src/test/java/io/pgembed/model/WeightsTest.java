package io.pgembed.model;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The bundled ONNX weights, and the sentence-transformers directory round trip. */
public class WeightsTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();
  private static ModelWeights onnx;

  @BeforeClass
  public static void read() throws Exception {
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_ONNX)) {
      onnx = OnnxWeights.read(in, "bundled");
    }
  }

  @Test
  public void onnxMatMulWeightsAreMappedThroughTheGraphAndTransposed() {
    // 5 embedding tensors + 6 layers x 16 (q, k, v, attention output, intermediate, output: weight and bias;
    // two LayerNorms: weight and bias).
    assertEquals(5 + 6 * 16, onnx.size());
    assertFalse(onnx.all().stream().anyMatch(t -> t.name().startsWith("onnx::")));
    assertArrayEquals(new long[] {30522, 384}, onnx.require("embeddings.word_embeddings.weight", "x").shape());
    assertArrayEquals(new long[] {512, 384}, onnx.require("embeddings.position_embeddings.weight", "x").shape());
    assertArrayEquals(
        new long[] {384, 384}, onnx.require("encoder.layer.0.attention.self.query.weight", "x").shape());
    // PyTorch layout [out, in]: the intermediate projection maps 384 -> 1536.
    assertArrayEquals(new long[] {1536, 384}, onnx.require("encoder.layer.5.intermediate.dense.weight", "x").shape());
    assertArrayEquals(new long[] {384, 1536}, onnx.require("encoder.layer.5.output.dense.weight", "x").shape());
    assertArrayEquals(new long[] {1536}, onnx.require("encoder.layer.5.intermediate.dense.bias", "x").shape());
  }

  @Test
  public void aMissingTensorIsNamedInTheError() {
    IllegalArgumentException e =
        org.junit.Assert.assertThrows(
            IllegalArgumentException.class, () -> onnx.require("encoder.layer.9.output.dense.weight", "my-model"));
    assertTrue(e.getMessage(), e.getMessage().contains("Weights from my-model have no tensor 'encoder.layer.9.output.dense.weight'"));
  }

  @Test
  public void theBundledModelsDigestIsTheOneTablesHold() {
    // Every stored vector's model column carries this digest's first 16 hex digits: it must never change.
    assertEquals("d1791b7565380af78eb0723fd7540a7ab4cc45c91d751c65ab0317ba36386b94", onnx.sha256());
  }

  @Test
  public void safetensorsRoundTripGivesIdenticalWeightsAndVectors() throws Exception {
    Path dir = writeSentenceTransformersDir("minilm-copy", false);
    ModelWeights back = SafetensorsWeights.read(dir.resolve("model.safetensors"));
    assertEquals(onnx.size(), back.size());
    assertEquals(onnx.sha256(), back.sha256());

    List<String> texts = List.of("PostgreSQL stores the vectors", "東京は日本の首都", "", "fn main() { println!(\"hi\"); }");
    try (EmbeddingModel fromDir = ModelLoader.builder().model(dir.toString()).device("cpu").build().load();
        EmbeddingPredictor p = fromDir.newPredictor();
        EmbeddingPredictor bundled = TestModels.bundled().newPredictor()) {
      assertEquals("minilm-copy", fromDir.fingerprint().name());
      assertEquals(TestModels.bundled().fingerprint().weightsSha256(), fromDir.fingerprint().weightsSha256());
      assertEquals(Pooling.MEAN, fromDir.fingerprint().pooling());
      assertTrue(fromDir.fingerprint().normalize());
      assertEquals(256, fromDir.fingerprint().maxLength());
      float[][] a = p.embedTexts(texts);
      float[][] b = bundled.embedTexts(texts);
      for (int i = 0; i < texts.size(); i++) {
        assertArrayEquals("text " + i, b[i], a[i], 0f);
      }
    }
  }

  @Test
  public void poolingConfigSelectsClsPooling() throws Exception {
    Path dir = writeSentenceTransformersDir("minilm-cls", true);
    try (EmbeddingModel fromDir = ModelLoader.builder().model(dir.toString()).device("cpu").build().load();
        EmbeddingModel clsOverride = ModelLoader.builder().device("cpu").pooling("cls").build().load();
        EmbeddingPredictor p = fromDir.newPredictor();
        EmbeddingPredictor q = clsOverride.newPredictor()) {
      assertEquals(Pooling.CLS, fromDir.fingerprint().pooling());
      assertArrayEquals(q.embedTexts(List.of("a query"))[0], p.embedTexts(List.of("a query"))[0], 0f);
    }
  }

  @Test
  public void halfPrecisionValuesWiden() {
    assertEquals(1.0f, SafetensorsWeights.halfToFloat((short) 0x3c00), 0f);
    assertEquals(-2.0f, SafetensorsWeights.halfToFloat((short) 0xc000), 0f);
    assertEquals(65504f, SafetensorsWeights.halfToFloat((short) 0x7bff), 0f);
    assertEquals(0x1p-24f, SafetensorsWeights.halfToFloat((short) 0x0001), 0f);
    assertEquals(Float.POSITIVE_INFINITY, SafetensorsWeights.halfToFloat((short) 0x7c00), 0f);
    assertEquals("bert. prefixes are dropped", "encoder.layer.0.output.dense.bias",
        SafetensorsWeights.canonicalName("bert.encoder.layer.0.output.dense.bias"));
  }

  @Test
  public void aDirectoryWithoutWeightsIsAClearError() throws Exception {
    Path dir = tmp.newFolder("empty-model").toPath();
    IllegalArgumentException e =
        org.junit.Assert.assertThrows(
            IllegalArgumentException.class, () -> ModelLoader.builder().model(dir.toString()).device("cpu").build().load());
    assertTrue(e.getMessage(), e.getMessage().contains("has no model.safetensors, model.onnx, onnx/model.onnx or .pt"
        + " file"));
    IllegalArgumentException missing =
        org.junit.Assert.assertThrows(
            IllegalArgumentException.class,
            () -> ModelLoader.builder().model("/no/such/model").device("cpu").build().load());
    assertTrue(missing.getMessage(), missing.getMessage().contains("--model=/no/such/model is neither"));
  }

  @Test
  public void aQuantizedOnnxExportIsRefusedWithTheFix() throws Exception {
    // A ModelProto whose graph has an fp32 and an int8 initializer, written with protobuf's wire format.
    java.io.ByteArrayOutputStream graph = new java.io.ByteArrayOutputStream();
    com.google.protobuf.CodedOutputStream g = com.google.protobuf.CodedOutputStream.newInstance(graph);
    for (int[] t : new int[][] {{1, 4}, {3, 1}}) { // (data type, bytes per element): FLOAT, INT8
      java.io.ByteArrayOutputStream tensor = new java.io.ByteArrayOutputStream();
      com.google.protobuf.CodedOutputStream w = com.google.protobuf.CodedOutputStream.newInstance(tensor);
      w.writeInt64(1, 2); // dims
      w.writeInt32(2, t[0]); // data_type
      w.writeString(8, t[0] == 1 ? "encoder.layer.0.output.LayerNorm.bias" : "onnx::MatMulInteger_7");
      w.writeByteArray(9, new byte[2 * t[1]]); // raw_data
      w.flush();
      g.writeByteArray(5, tensor.toByteArray()); // GraphProto.initializer
    }
    g.flush();
    java.io.ByteArrayOutputStream model = new java.io.ByteArrayOutputStream();
    com.google.protobuf.CodedOutputStream m = com.google.protobuf.CodedOutputStream.newInstance(model);
    m.writeByteArray(7, graph.toByteArray()); // ModelProto.graph
    m.flush();
    java.io.IOException e = org.junit.Assert.assertThrows(java.io.IOException.class,
        () -> OnnxWeights.read(new java.io.ByteArrayInputStream(model.toByteArray()), "model_quantized.onnx"));
    assertTrue(e.getMessage(), e.getMessage().equals("model_quantized.onnx is a quantized export (1 int8 weight"
        + " tensors), which this encoder does not run: use the model's fp32 model.onnx (or its model.safetensors)"));
  }

  @Test
  public void aTruncatedOnnxFileIsAClearErrorAtLoad() throws Exception {
    Path dir = tmp.newFolder("truncated-onnx").toPath();
    Path source = ModelFamilies.onnx(ModelFamilies.e5Small());
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(source)) {
      java.nio.file.Files.write(dir.resolve("model.onnx"), in.readNBytes(40 << 20)); // 40 of its 133 MB
    }
    java.nio.file.Files.copy(ModelFamilies.e5Small().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
    IllegalArgumentException e = org.junit.Assert.assertThrows(IllegalArgumentException.class,
        () -> ModelLoader.builder().model(dir.toString()).device("cpu").build().load());
    assertTrue(e.getMessage(), e.getMessage().startsWith("--model=" + dir + " cannot be loaded: "));
    assertTrue(e.getMessage(), e.getMessage().contains("input ended unexpectedly"));
  }

  @Test
  public void aTruncatedSafetensorsFileIsAClearErrorAtLoad() throws Exception {
    Path dir = writeSentenceTransformersDir("truncated", false);
    Path weights = dir.resolve("model.safetensors");
    byte[] all = Files.readAllBytes(weights);
    Files.write(weights, java.util.Arrays.copyOf(all, all.length / 2)); // a copy cut off halfway
    Exception e = org.junit.Assert.assertThrows(
        Exception.class, () -> ModelLoader.builder().model(dir.toString()).device("cpu").build().load());
    assertTrue(e.getMessage(), e.getMessage().contains("model.safetensors"));
    assertTrue(e.getMessage(), e.getMessage().contains("truncated"));
  }

  @Test
  public void aConfigThatDisagreesWithTheWeightsIsAClearErrorAtLoad() throws Exception {
    Path dir = writeSentenceTransformersDir("misconfigured", false);
    ObjectMapper json = new ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode config =
        (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(dir.resolve("config.json").toFile());
    config.put("hidden_size", 768); // the weights are 384 wide
    json.writeValue(dir.resolve("config.json").toFile(), config);
    Exception e = org.junit.Assert.assertThrows(
        Exception.class, () -> ModelLoader.builder().model(dir.toString()).device("cpu").build().load());
    assertTrue(e.getMessage(), e.getMessage().contains("config.json"));
    assertTrue(e.getMessage(), e.getMessage().contains("768"));
    assertTrue(e.getMessage(), e.getMessage().contains("384"));
  }

  /** A sentence-transformers directory as {@code save_pretrained} writes it, from the bundled weights. */
  private Path writeSentenceTransformersDir(String name, boolean cls) throws Exception {
    Path dir = tmp.newFolder(name).toPath();
    ObjectMapper json = new ObjectMapper();
    json.writeValue(dir.resolve("config.json").toFile(), BertConfig.MINILM_L6.toJson(json));
    SafetensorsWeights.write(onnx, dir.resolve("model.safetensors"));
    try (InputStream in = ModelLoader.resource(ModelLoader.BUNDLED_TOKENIZER)) {
      Files.copy(in, dir.resolve("tokenizer.json"));
    }
    Files.writeString(
        dir.resolve("modules.json"),
        "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Transformer\"},"
            + "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":\"sentence_transformers.models.Pooling\"},"
            + "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":\"sentence_transformers.models.Normalize\"}]");
    Files.createDirectories(dir.resolve("1_Pooling"));
    Files.writeString(
        dir.resolve("1_Pooling/config.json"),
        "{\"word_embedding_dimension\":384,\"pooling_mode_cls_token\":" + cls + ",\"pooling_mode_mean_tokens\":"
            + !cls + "}");
    Files.writeString(dir.resolve("sentence_bert_config.json"), "{\"max_seq_length\":256,\"do_lower_case\":false}");
    return dir;
  }
}
