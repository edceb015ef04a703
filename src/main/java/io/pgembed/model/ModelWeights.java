package io.pgembed.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parameters of a BERT-family encoder, named as in Hugging Face's {@code BertModel} state dict
 * ({@code embeddings.word_embeddings.weight}, {@code encoder.layer.0.attention.self.query.weight}, ...),
 * in PyTorch layout.
 */
public final class ModelWeights {
  private final Map<String, WeightTensor> tensors = new TreeMap<>();
  private String sha256;

  public void put(WeightTensor tensor) {
    tensors.put(tensor.name(), tensor);
    sha256 = null;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The tensor with that name; a missing one is an error that names it and the source. */
  public WeightTensor require(String name, String source) {
    WeightTensor t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          "Weights from " + source + " have no tensor '" + name + "'. Is this a BERT-family encoder? It has "
              + tensors.size() + " tensors, e.g. " + tensors.keySet().stream().limit(5).toList());
    }
    return t;
  }

  public Collection<WeightTensor> all() {
    return tensors.values();
  }

  public int size() {
    return tensors.size();
  }

  /**
   * A sha256 over every tensor's name, shape and little-endian fp32 values, in name order. It is the same for the
   * same weights whatever file format they came from.
   */
  public synchronized String sha256() {
    if (sha256 == null) {
      try {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (WeightTensor t : tensors.values()) {
          digest.update(t.name().getBytes(StandardCharsets.UTF_8));
          for (long d : t.shape()) {
            buf.putLong(d);
          }
          buf.flip();
          digest.update(buf);
          buf.clear();
          for (float v : t.data()) {
            if (!buf.hasRemaining()) {
              buf.flip();
              digest.update(buf);
              buf.clear();
            }
            buf.putFloat(v);
          }
          buf.flip();
          digest.update(buf);
          buf.clear();
        }
        sha256 = HexFormat.of().formatHex(digest.digest());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
    return sha256;
  }
}
