package io.pgembed.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;

/**
 * Reads and writes Hugging Face {@code model.safetensors} files: an 8-byte little-endian header length, a JSON
 * header of {@code name -> {dtype, shape, data_offsets}}, then the raw little-endian tensors.
 *
 * <p>F32, F16 and BF16 tensors are read (and widened to fp32). A {@code bert.} prefix, as in {@code BertModel}
 * checkpoints saved from a task model, is dropped so that names match the encoder's.
 */
public final class SafetensorsWeights {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafetensorsWeights() {}

  public static ModelWeights read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      map.order(ByteOrder.LITTLE_ENDIAN);
      if (ch.size() < 8) {
        throw new IOException(file + " is too short to be a safetensors file");
      }
      long headerLength = map.getLong(0);
      if (headerLength <= 0 || 8 + headerLength > ch.size()) {
        throw new IOException(file + " has a bad safetensors header length " + headerLength);
      }
      byte[] header = new byte[(int) headerLength];
      map.get(8, header);
      JsonNode root = JSON.readTree(header);
      long dataStart = 8 + headerLength;
      ModelWeights weights = new ModelWeights();
      Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
      while (fields.hasNext()) {
        Map.Entry<String, JsonNode> e = fields.next();
        if (e.getKey().equals("__metadata__")) {
          continue;
        }
        JsonNode info = e.getValue();
        String dtype = info.path("dtype").asText();
        JsonNode shapeNode = info.path("shape");
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
          shape[i] = shapeNode.get(i).asLong();
          count *= shape[i];
        }
        long begin = dataStart + info.path("data_offsets").get(0).asLong();
        long end = dataStart + info.path("data_offsets").get(1).asLong();
        if (end > ch.size() || begin > end) {
          throw new IOException(file + " is truncated or corrupt: tensor " + e.getKey() + " ends at byte " + end
              + " but the file has " + ch.size() + " bytes. Copy the model again.");
        }
        float[] data = new float[(int) count];
        ByteBuffer slice = map.slice((int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
          case "F32" -> slice.asFloatBuffer().get(data);
          case "F16" -> {
            for (int i = 0; i < data.length; i++) {
              data[i] = halfToFloat(slice.getShort(2 * i));
            }
          }
          case "BF16" -> {
            for (int i = 0; i < data.length; i++) {
              data[i] = Float.intBitsToFloat((slice.getShort(2 * i) & 0xffff) << 16);
            }
          }
          default -> {
            // Integer buffers such as position_ids are not parameters.
            continue;
          }
        }
        weights.put(new WeightTensor(canonicalName(e.getKey()), shape, data));
      }
      return weights;
    }
  }

  /** Writes every tensor as F32, names in order, the way {@code safetensors.torch.save_file} does. */
  public static void write(ModelWeights weights, Path file) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (WeightTensor t : weights.all()) {
      ObjectNode info = header.putObject(t.name());
      info.put("dtype", "F32");
      var shape = info.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      long size = 4L * t.data().length;
      info.putArray("data_offsets").add(offset).add(offset + size);
      offset += size;
    }
    byte[] headerBytes = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    // The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
    int padded = (headerBytes.length + 7) / 8 * 8;
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
      out.write(len.array());
      out.write(headerBytes);
      for (int i = headerBytes.length; i < padded; i++) {
        out.write(' ');
      }
      ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      for (WeightTensor t : weights.all()) {
        FloatBuffer src = FloatBuffer.wrap(t.data());
        while (src.hasRemaining()) {
          int n = Math.min(src.remaining(), buf.remaining() / 4);
          for (int i = 0; i < n; i++) {
            buf.putFloat(src.get());
          }
          if (buf.remaining() < 4) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
          }
        }
      }
      out.write(buf.array(), 0, buf.position());
    }
  }

  /** IEEE 754 binary16 to binary32 (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      // Subnormal (or zero): mant * 2^-24.
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  static String canonicalName(String name) {
    return name.startsWith("bert.") ? name.substring("bert.".length()) : name;
  }
}
