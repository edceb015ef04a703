package io.pgembed.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DJL's Hugging Face tokenizer, set to add the special tokens, truncate to the model's limit and never pad (the
 * batch pads itself, to its longest member). Thread-safe: the native tokenizer is.
 *
 * <p>Tokenizing for the model and counting read only what they use from the native encoding (ids, type ids, the
 * overflow count) through DJL's {@link TokenizersLibrary}: DJL's {@link Encoding} also copies every token's string,
 * word id, masks and character span out of the native library, which made a count cost 1.7x (53 against 31 µs on a
 * short text). The tokenizers are built without DJL's Java-side text changes (lower-casing, accent stripping, a
 * prefix space: those are options this class never sets), so the native call sees the same text; {@code
 * TextTokenizerTest} checks both paths against DJL's {@link Encoding}.
 */
public final class TextTokenizer implements AutoCloseable {
  private static final TokenizersLibrary LIB = TokenizersLibrary.LIB;
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
    String[] in = texts.toArray(new String[0]);
    for (int i = 0; i < in.length; i++) {
      if (in[i] == null) {
        throw new NullPointerException("text " + i + " of " + in.length + " is null: a NULL text is never tokenized");
      }
    }
    long[] encodings = LIB.batchEncode(tokenizer.getHandle(), in, true);
    List<Tokenized> out = new ArrayList<>(encodings.length);
    try {
      for (long e : encodings) {
        out.add(new Tokenized(LIB.getTokenIds(e), LIB.getTypeIds(e), LIB.getOverflowCount(e) > 0));
      }
    } finally {
      for (long e : encodings) {
        LIB.deleteEncoding(e);
      }
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
    return count(whole, text, false);
  }

  /** Tokens the model sees of {@code text}: special tokens included, at most {@link #maxLength()}. */
  public int count(String text) {
    return count(tokenizer, text, true);
  }

  private static int count(HuggingFaceTokenizer t, String text, boolean specialTokens) {
    if (text == null) {
      throw new NullPointerException("text is null: a NULL text is never tokenized");
    }
    long e = LIB.encode(t.getHandle(), text, specialTokens);
    try {
      return LIB.getTokenIds(e).length;
    } finally {
      LIB.deleteEncoding(e);
    }
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
