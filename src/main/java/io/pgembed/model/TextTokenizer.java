package io.pgembed.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DJL's Hugging Face tokenizer, set to add the special tokens, truncate to the model's limit and never pad (the
 * batch pads itself, to its longest member). Thread-safe: the native tokenizer is.
 */
public final class TextTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final int maxLength;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, int maxLength) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
  }

  /** Reads a {@code tokenizer.json}; its own truncation and padding settings are overridden. */
  public static TextTokenizer fromJson(InputStream tokenizerJson, int maxLength) throws IOException {
    if (maxLength < 2) {
      throw new IllegalArgumentException("maxLength must be >= 2, but was " + maxLength);
    }
    Map<String, String> options =
        Map.of(
            "addSpecialTokens", "true",
            "truncation", "true",
            "padding", "false",
            "maxLength", Integer.toString(maxLength),
            "modelMaxLength", Integer.toString(maxLength));
    return new TextTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, options), maxLength);
  }

  public int maxLength() {
    return maxLength;
  }

  public List<Tokenized> tokenize(List<String> texts) {
    Encoding[] encodings = tokenizer.batchEncode(texts, true, false);
    List<Tokenized> out = new ArrayList<>(encodings.length);
    for (Encoding e : encodings) {
      out.add(new Tokenized(e.getIds(), e.getTypeIds(), e.exceedMaxLength()));
    }
    return out;
  }

  public Tokenized tokenize(String text) {
    return tokenize(List.of(text)).get(0);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
