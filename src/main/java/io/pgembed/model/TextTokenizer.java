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
  /** The same tokenizer without truncation or special tokens: a whole text's tokens and their offsets. */
  private final HuggingFaceTokenizer whole;
  private final int maxLength;
  /** The special tokens added around every text, counted once (the chunker and the coverage count need it). */
  private final int specialTokens;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, HuggingFaceTokenizer whole, int maxLength) {
    this.tokenizer = tokenizer;
    this.whole = whole;
    this.maxLength = maxLength;
    this.specialTokens = tokenizer.encode("").getIds().length;
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
    byte[] json = tokenizerJson.readAllBytes();
    Map<String, String> untruncated = Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");
    return new TextTokenizer(HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(json), options),
        HuggingFaceTokenizer.newInstance(new java.io.ByteArrayInputStream(json), untruncated), maxLength);
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

  /**
   * The character spans ({@code [start, end)} in the Java string, UTF-16 indices) of every token of {@code text},
   * untruncated and without special tokens: what chunking cuts on. Tokens of no characters (none in BERT's
   * vocabularies) are left out.
   */
  public int[][] tokenSpans(String text) {
    Encoding e = whole.encode(text, false, false);
    ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
    // The native tokenizer's offsets count Unicode code points; a Java string counts UTF-16 units.
    boolean bmp = text.codePointCount(0, text.length()) == text.length();
    int[][] out = new int[spans.length][];
    int n = 0;
    for (ai.djl.huggingface.tokenizers.jni.CharSpan span : spans) {
      if (span == null || span.getEnd() <= span.getStart()) {
        continue;
      }
      int start = bmp ? span.getStart() : text.offsetByCodePoints(0, span.getStart());
      int end = bmp ? span.getEnd() : text.offsetByCodePoints(0, span.getEnd());
      out[n++] = new int[] {start, end};
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /** Tokens {@code text} has untruncated, special tokens left out. */
  public int countWhole(String text) {
    return whole.encode(text, false, false).getIds().length;
  }

  /** The special tokens the model's tokenization adds around every text ([CLS] and [SEP] for BERT: 2). */
  public int specialTokens() {
    return specialTokens;
  }

  @Override
  public void close() {
    whole.close();
    tokenizer.close();
  }
}
