package io.pgembed.model;

import com.google.protobuf.CodedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the fp32 initializers of an ONNX BERT export straight from the protobuf wire format, with no ONNX library.
 *
 * <p>Exporters rename the dense weights after the MatMul that uses them ({@code onnx::MatMul_863}); the graph's
 * node {@code /encoder/layer.5/intermediate/dense/MatMul} takes that initializer as its input 1, so the node name
 * gives back {@code encoder.layer.5.intermediate.dense.weight}. MatMul weights are stored {@code [in, out]} and are
 * transposed to PyTorch's {@code [out, in]}. Biases and LayerNorm parameters keep their PyTorch names.
 *
 * <pre>{@code
 * ModelWeights w = OnnxWeights.read(in, "all-minilm-l6-v2.onnx");
 * }</pre>
 */
public final class OnnxWeights {
  // Field numbers from onnx.proto.
  private static final int MODEL_GRAPH = 7;
  private static final int GRAPH_NODE = 1;
  private static final int GRAPH_INITIALIZER = 5;
  private static final int NODE_INPUT = 1;
  private static final int NODE_OUTPUT = 2;
  private static final int NODE_ATTRIBUTE = 5;
  private static final int ATTRIBUTE_TENSOR = 5;
  private static final int TENSOR_INT64_DATA = 7;
  private static final int ONNX_INT64 = 7;
  private static final int ONNX_UINT8 = 2;
  private static final int ONNX_INT8 = 3;
  private static final int NODE_NAME = 3;
  private static final int NODE_OP_TYPE = 4;
  private static final int TENSOR_DIMS = 1;
  private static final int TENSOR_DATA_TYPE = 2;
  private static final int TENSOR_FLOAT_DATA = 4;
  private static final int TENSOR_NAME = 8;
  private static final int TENSOR_RAW_DATA = 9;
  private static final int TENSOR_DATA_LOCATION = 14;
  private static final int ONNX_FLOAT = 1;

  private OnnxWeights() {}

  /**
   * An export's weights, and its attention heads where the graph says (0: it does not): the int64 constants of
   * layer 0's self-attention reshape, {@code [batch, length, heads, head size]} with heads x head size = hidden.
   * A model directory without config.json needs them; weights alone cannot tell 12 heads of 32 from 6 of 64.
   */
  public record Export(ModelWeights weights, int attentionHeads) {}

  public static ModelWeights read(InputStream in, String source) throws IOException {
    return readExport(in, source).weights();
  }

  public static Export readExport(InputStream in, String source) throws IOException {
    CodedInputStream model = CodedInputStream.newInstance(in);
    model.setSizeLimit(Integer.MAX_VALUE);
    Map<String, WeightTensor> initializers = new HashMap<>();
    Map<String, String> matMulWeightToParam = new HashMap<>();
    Map<String, Long> constants = new HashMap<>();
    List<List<String>> attentionShapes = new ArrayList<>();
    int quantized = 0;
    boolean sawGraph = false;
    while (true) {
      int tag = model.readTag();
      if (tag == 0) {
        break;
      }
      if (fieldOf(tag) != MODEL_GRAPH) {
        model.skipField(tag);
        continue;
      }
      sawGraph = true;
      int limit = model.pushLimit(model.readRawVarint32());
      while (!model.isAtEnd()) {
        int gtag = model.readTag();
        switch (fieldOf(gtag)) {
          case GRAPH_INITIALIZER -> {
            int tlimit = model.pushLimit(model.readRawVarint32());
            int[] dataType = new int[1];
            WeightTensor t = readTensor(model, source, dataType);
            model.popLimit(tlimit);
            if (t != null) {
              initializers.put(t.name(), t);
            } else if (dataType[0] == ONNX_INT8 || dataType[0] == ONNX_UINT8) {
              quantized++;
            }
          }
          case GRAPH_NODE -> {
            int nlimit = model.pushLimit(model.readRawVarint32());
            readNode(model, matMulWeightToParam, constants, attentionShapes);
            model.popLimit(nlimit);
          }
          default -> model.skipField(gtag);
        }
      }
      model.popLimit(limit);
    }
    if (quantized > 0) {
      throw new IOException(source + " is a quantized export (" + quantized + " int8 weight tensors), which this"
          + " encoder does not run: use the model's fp32 model.onnx (or its model.safetensors)");
    }
    if (!sawGraph || initializers.isEmpty()) {
      throw new IOException(source + " is not an ONNX model with fp32 initializers");
    }
    ModelWeights weights = new ModelWeights();
    for (WeightTensor t : initializers.values()) {
      String param = matMulWeightToParam.get(t.name());
      if (param != null) {
        weights.put(t.transposed2d().renamed(param));
      } else if (!t.name().startsWith("onnx::")) {
        weights.put(t);
      }
    }
    WeightTensor words = initializers.get("embeddings.word_embeddings.weight");
    return new Export(weights, words == null ? 0 : heads(attentionShapes, constants, words.shape()[1]));
  }

  /** The first pair of constants a, b in one of layer 0's attention shapes with a x b = hidden: a heads of b. */
  private static int heads(List<List<String>> shapes, Map<String, Long> constants, long hidden) {
    for (List<String> shape : shapes) {
      for (int i = 0; i + 1 < shape.size(); i++) {
        Long a = constants.get(shape.get(i));
        Long b = constants.get(shape.get(i + 1));
        if (a != null && b != null && a > 0 && b > 0 && a * b == hidden) {
          return a.intValue();
        }
      }
    }
    return 0;
  }

  private static void readNode(CodedInputStream in, Map<String, String> matMuls, Map<String, Long> constants,
      List<List<String>> attentionShapes) throws IOException {
    List<String> inputs = new ArrayList<>(2);
    String output = null;
    String name = null;
    String opType = null;
    Long constant = null;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (fieldOf(tag)) {
        case NODE_INPUT -> inputs.add(in.readStringRequireUtf8());
        case NODE_OUTPUT -> output = output == null ? in.readStringRequireUtf8() : output;
        case NODE_NAME -> name = in.readStringRequireUtf8();
        case NODE_OP_TYPE -> opType = in.readStringRequireUtf8();
        case NODE_ATTRIBUTE -> {
          int l = in.pushLimit(in.readRawVarint32());
          constant = readInt64Attribute(in);
          in.popLimit(l);
        }
        default -> in.skipField(tag);
      }
    }
    if ("Constant".equals(opType) && constant != null && output != null) {
      constants.put(output, constant);
    }
    if ("Concat".equals(opType) && name != null && name.startsWith("/encoder/layer.0/attention/self/")) {
      attentionShapes.add(inputs);
    }
    if ("MatMul".equals(opType) && name != null && inputs.size() == 2 && name.endsWith("/MatMul")) {
      // "/encoder/layer.5/intermediate/dense/MatMul" -> "encoder.layer.5.intermediate.dense.weight"
      String path = name.substring(name.startsWith("/") ? 1 : 0, name.length() - "/MatMul".length());
      matMuls.put(inputs.get(1), path.replace('/', '.') + ".weight");
    }
  }

  /** A Constant's value attribute when it is one int64 (a shape entry); else null. */
  private static Long readInt64Attribute(CodedInputStream in) throws IOException {
    Long value = null;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      if (fieldOf(tag) != ATTRIBUTE_TENSOR) {
        in.skipField(tag);
        continue;
      }
      int l = in.pushLimit(in.readRawVarint32());
      int dataType = 0;
      List<Long> values = new ArrayList<>(1);
      while (!in.isAtEnd()) {
        int t = in.readTag();
        switch (fieldOf(t)) {
          case TENSOR_DATA_TYPE -> dataType = in.readInt32();
          case TENSOR_INT64_DATA -> readRepeated(in, t, values, CodedInputStream::readInt64);
          case TENSOR_RAW_DATA -> {
            ByteBuffer raw = in.readByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            while (raw.remaining() >= 8) {
              values.add(raw.getLong());
            }
          }
          default -> in.skipField(t);
        }
      }
      in.popLimit(l);
      if (dataType == ONNX_INT64 && values.size() == 1) {
        value = values.get(0);
      }
    }
    return value;
  }

  /** An fp32 tensor, or null for another type ({@code dataTypeOut[0]} says which). */
  private static WeightTensor readTensor(CodedInputStream in, String source, int[] dataTypeOut) throws IOException {
    List<Long> dims = new ArrayList<>(2);
    int dataType = 0;
    String name = null;
    ByteBuffer raw = null;
    List<Float> floats = null;
    boolean external = false;
    while (!in.isAtEnd()) {
      int tag = in.readTag();
      switch (fieldOf(tag)) {
        case TENSOR_DIMS -> readRepeated(in, tag, dims, CodedInputStream::readInt64);
        case TENSOR_DATA_TYPE -> dataType = in.readInt32();
        case TENSOR_NAME -> name = in.readStringRequireUtf8();
        case TENSOR_RAW_DATA -> raw = in.readByteBuffer();
        case TENSOR_DATA_LOCATION -> external = in.readEnum() == 1;
        case TENSOR_FLOAT_DATA -> {
          floats = floats == null ? new ArrayList<>() : floats;
          readRepeated(in, tag, floats, CodedInputStream::readFloat);
        }
        default -> in.skipField(tag);
      }
    }
    dataTypeOut[0] = dataType;
    if (dataType != ONNX_FLOAT) {
      return null;
    }
    if (external) {
      throw new IOException(
          source + ": tensor " + name + " keeps its data in an external file, which is not supported;"
              + " re-export the model with the weights inside the .onnx file");
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    float[] data;
    if (raw != null) {
      data = new float[raw.remaining() / 4];
      raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
    } else if (floats != null) {
      data = new float[floats.size()];
      for (int i = 0; i < data.length; i++) {
        data[i] = floats.get(i);
      }
    } else {
      data = new float[0];
    }
    return new WeightTensor(name, shape, data);
  }

  /** One value of a scalar type. */
  private interface Scalar<T> {
    T read(CodedInputStream in) throws IOException;
  }

  /** A repeated scalar field's values at {@code tag}: packed (one length-delimited run) or one value. */
  private static <T> void readRepeated(CodedInputStream in, int tag, List<T> into, Scalar<T> one) throws IOException {
    if (wireTypeOf(tag) == 2) {
      int l = in.pushLimit(in.readRawVarint32());
      while (!in.isAtEnd()) {
        into.add(one.read(in));
      }
      in.popLimit(l);
    } else {
      into.add(one.read(in));
    }
  }

  private static int fieldOf(int tag) {
    return tag >>> 3;
  }

  private static int wireTypeOf(int tag) {
    return tag & 7;
  }
}
