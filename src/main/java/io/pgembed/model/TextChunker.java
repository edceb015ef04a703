package io.pgembed.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a long text into chunks that are exact in the model's own tokens: each chunk, tokenized as the model
 * tokenizes it (special tokens included), is at most {@code chunkTokens} long, so no chunk is ever truncated.
 * Consecutive chunks overlap by about {@code overlapTokens} tokens, and their character ranges cover the text with
 * no gap: joined on their offsets, minus the overlaps, they give back the text exactly.
 *
 * <p>Where a chunk ends: at the last paragraph break (a blank line) in the second half of its token budget, else
 * the last sentence end (. ! ? before white space), else the last word boundary, else between two punctuation
 * tokens, else (one word longer than half the budget) between any two tokens. A chunk's range runs from its first
 * token's first character (the text's start for the first chunk) to the first character of the token after its
 * last (the text's end for the last), so white space between two chunks belongs to the earlier one.
 *
 * <pre>{@code
 * List<TextChunker.Chunk> chunks = TextChunker.chunk(model.tokenizer(), text, 256, 25);
 * String second = text.substring(chunks.get(1).start(), chunks.get(1).end());
 * }</pre>
 */
public final class TextChunker {
  /** One chunk: its place (0-based), its characters {@code [start, end)} in the text, its tokens (specials too). */
  public record Chunk(int seq, int start, int end, int tokens) {}

  private static final int PARAGRAPH = 4;
  private static final int SENTENCE = 3;
  private static final int WORD = 2;
  private static final int PUNCTUATION = 1;

  private TextChunker() {}

  public static List<Chunk> chunk(TextTokenizer tokenizer, String text, int chunkTokens, int overlapTokens) {
    return chunk(tokenizer, text, tokenizer.tokenSpans(text), chunkTokens, overlapTokens);
  }

  /** The same, with the text's {@link TextTokenizer#tokenSpans} already at hand. */
  public static List<Chunk> chunk(
      TextTokenizer tokenizer, String text, int[][] spans, int chunkTokens, int overlapTokens) {
    int specials = tokenizer.specialTokens();
    int budget = check(tokenizer, chunkTokens, overlapTokens);
    int n = spans.length;
    List<Chunk> out = new ArrayList<>();
    if (n <= budget) {
      out.add(new Chunk(0, 0, text.length(), n + specials));
      return out;
    }
    int s = 0;
    while (true) {
      int start = out.isEmpty() ? 0 : spans[s][0];
      if (n - s <= budget) {
        out.add(new Chunk(out.size(), start, text.length(), n - s + specials));
        return out;
      }
      int e = cut(text, spans, s + budget / 2, s + budget);
      // Tokenized on its own a chunk can differ from the slice of the whole text's tokens at a cut inside a word:
      // check, and move the cut back until it fits.
      while (e > s + 1 && tokenizer.countWhole(text.substring(start, spans[e][0])) > budget) {
        e = cut(text, spans, s + 1, e - 1);
      }
      out.add(new Chunk(out.size(), start, spans[e][0], e - s + specials));
      int next = Math.max(s + 1, e - overlapTokens);
      while (next < e && rank(text, spans, next) < WORD) {
        next++; // start the overlap on a word, not inside one
      }
      s = next == e || overlapTokens == 0 ? e : next;
    }
  }

  /** Checks the sizes (each named in the error); returns the text tokens a chunk holds. */
  public static int check(TextTokenizer tokenizer, int chunkTokens, int overlapTokens) {
    int specials = tokenizer.specialTokens();
    int budget = chunkTokens - specials;
    if (budget < 8) {
      throw new IllegalArgumentException("--chunkTokens=" + chunkTokens + " leaves " + budget + " tokens of text"
          + " after the model's " + specials + " special tokens; use at least " + (8 + specials));
    }
    if (overlapTokens < 0 || overlapTokens > budget / 2) {
      throw new IllegalArgumentException("--chunkOverlap must be 0 to half of --chunkTokens' text tokens ("
          + budget / 2 + "), but was " + overlapTokens);
    }
    return budget;
  }

  /** The best cut in {@code [from, to]} (cut before that token): the highest rank, then the latest. */
  private static int cut(String text, int[][] spans, int from, int to) {
    int best = to;
    int bestRank = -1;
    for (int j = to; j >= Math.max(1, from); j--) {
      int r = rank(text, spans, j);
      if (r > bestRank) {
        best = j;
        bestRank = r;
        if (r == PARAGRAPH) {
          break;
        }
      }
    }
    return best;
  }

  /** How natural a cut before token {@code j} is. */
  static int rank(String text, int[][] spans, int j) {
    if (j <= 0) {
      return PARAGRAPH;
    }
    int gapStart = spans[j - 1][1];
    int gapEnd = spans[j][0];
    if (gapEnd > gapStart) {
      String gap = text.substring(gapStart, gapEnd);
      if (gap.indexOf('\n') != gap.lastIndexOf('\n')) {
        return PARAGRAPH;
      }
      char last = text.charAt(gapStart - 1);
      if (last == '.' || last == '!' || last == '?') {
        return SENTENCE;
      }
      return WORD;
    }
    char before = text.charAt(gapStart - 1);
    char after = text.charAt(gapEnd);
    return !Character.isLetterOrDigit(before) || !Character.isLetterOrDigit(after) ? PUNCTUATION : 0;
  }
}
