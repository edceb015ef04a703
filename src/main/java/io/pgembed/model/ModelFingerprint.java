package io.pgembed.model;

import java.io.Serializable;

/**
 * What makes two vectors comparable: the model's name, a sha256 of its weights, the pooling, normalization and
 * maximum length. Stored with every vector, so that a model change is detectable and re-embeds.
 *
 * <p>{@code all-minilm-l6-v2 sha256:1f0a…(16 hex) mean normalized max_length=256}
 */
public record ModelFingerprint(
    String name, String weightsSha256, Pooling pooling, boolean normalize, int maxLength)
    implements Serializable {

  @Override
  public String toString() {
    return name
        + " sha256:"
        + weightsSha256.substring(0, Math.min(16, weightsSha256.length()))
        + " "
        + pooling.label()
        + (normalize ? " normalized" : " unnormalized")
        + " max_length="
        + maxLength;
  }
}
