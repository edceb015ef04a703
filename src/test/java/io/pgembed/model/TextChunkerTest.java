package io.pgembed.model;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;

/** Token-exact chunks with the bundled model's own tokenizer: they fit, they cover, they cut on natural bounds. */
public class TextChunkerTest {
  /** Paragraphs of the parity corpus (code, prose, markdown, HTML, CJK, emoji), until the text has 5,000 tokens. */
  static String longDocument(TextTokenizer tokenizer, int tokens) {
    StringBuilder sb = new StringBuilder();
    for (int round = 0; tokenizer.countWhole(sb.toString()) < tokens; round++) {
      for (TestModels.CorpusText t : TestModels.parityCorpus()) {
        if (!t.text().isBlank()) {
          sb.append(t.text().strip()).append(round % 2 == 0 ? ". " : "\n\n");
        }
        if (sb.length() % 7 == 0) {
          sb.append("\n\n");
        }
      }
    }
    return sb.toString();
  }

  /** The text back from the chunks' offsets, each overlap taken once. */
  static String joined(String text, List<TextChunker.Chunk> chunks) {
    StringBuilder sb = new StringBuilder();
    int end = 0;
    for (TextChunker.Chunk c : chunks) {
      assertThat("chunk " + c.seq() + " starts within or at the end of the text before it", c.start(),
          lessThanOrEqualTo(end));
      sb.append(text, Math.max(end, c.start()), c.end());
      end = Math.max(end, c.end());
    }
    return sb.toString();
  }

  @Test
  public void aLongDocumentsChunksEachFitTheModelAndTogetherGiveBackTheText() {
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    String text = longDocument(tokenizer, 5000);
    assertThat(tokenizer.countWhole(text), greaterThanOrEqualTo(5000));
    assertThat("the text has characters outside the BMP", text.codePointCount(0, text.length()), lessThanOrEqualTo(
        text.length() - 1));
    List<TextChunker.Chunk> chunks = TextChunker.chunk(tokenizer, text, 256, 25);
    assertThat(chunks.size(), greaterThan(5000 / 256));
    int paragraphEnds = 0;
    for (int i = 0; i < chunks.size(); i++) {
      TextChunker.Chunk c = chunks.get(i);
      assertEquals(i, c.seq());
      String piece = text.substring(c.start(), c.end());
      Tokenized t = tokenizer.tokenize(piece);
      assertFalse("chunk " + i + " is not truncated", t.truncated());
      assertThat("chunk " + i + " fits", t.length(), lessThanOrEqualTo(256));
      assertEquals("chunk " + i + " knows its tokens", t.length(), c.tokens());
      if (i > 0) {
        assertThat("chunk " + i + " overlaps the one before", c.start(), lessThanOrEqualTo(chunks.get(i - 1).end()));
      }
      paragraphEnds += piece.substring(piece.stripTrailing().length()).chars().filter(ch -> ch == '\n').count() >= 2
          ? 1 : 0;
    }
    assertEquals(text, joined(text, chunks));
    assertEquals(0, chunks.get(0).start());
    assertEquals(text.length(), chunks.get(chunks.size() - 1).end());
    System.out.println(chunks.size() + " chunks of a " + tokenizer.countWhole(text) + "-token text, "
        + paragraphEnds + " ending at a paragraph break");
    // Wherever the second half of a chunk's budget held a paragraph break, the chunk ends at one.
    int[][] spans = tokenizer.tokenSpans(text);
    int budget = 256 - 2;
    int couldEndAtParagraph = 0;
    for (TextChunker.Chunk c : chunks.subList(0, chunks.size() - 1)) {
      int s = 0;
      while (spans[s][0] < c.start()) {
        s++;
      }
      boolean paragraphInWindow = false;
      for (int j = s + budget / 2; j <= s + budget && j < spans.length; j++) {
        paragraphInWindow |= TextChunker.rank(text, spans, j) == 4;
      }
      if (paragraphInWindow) {
        couldEndAtParagraph++;
        String piece = text.substring(c.start(), c.end());
        String trailing = piece.substring(piece.stripTrailing().length());
        assertThat("chunk " + c.seq() + " ends at a paragraph break", trailing.chars().filter(ch -> ch == '\n')
            .count(), greaterThanOrEqualTo(2L));
      }
    }
    assertThat(couldEndAtParagraph, greaterThan(10));
  }

  @Test
  public void cutsPreferParagraphsThenSentencesThenWords() {
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    String sentences = "The quick brown fox jumps over the lazy dog. ".repeat(40); // no paragraph break at all
    for (TextChunker.Chunk c : TextChunker.chunk(tokenizer, sentences, 64, 0)) {
      String piece = sentences.substring(c.start(), c.end());
      assertEquals("sentence " + c.seq() + ": " + piece, ". ", piece.substring(piece.length() - 2));
    }
    String words = "alpha beta gamma delta ".repeat(100); // no sentence either
    List<TextChunker.Chunk> chunks = TextChunker.chunk(tokenizer, words, 32, 3);
    for (TextChunker.Chunk c : chunks.subList(0, chunks.size() - 1)) {
      assertEquals(' ', words.charAt(c.end() - 1));
      assertThat(c.tokens(), lessThanOrEqualTo(32));
    }
    assertEquals(words, joined(words, chunks));
    // A text within the budget is one chunk of the whole text.
    assertEquals(List.of(new TextChunker.Chunk(0, 0, 11, 4)), TextChunker.chunk(tokenizer, "hello world", 256, 25));
  }

  @Test
  public void badSizesAreNamed() {
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TextChunker.chunk(tokenizer, "x", 6, 0));
    assertEquals("--chunkTokens=6 leaves 4 tokens of text after the model's 2 special tokens; use at least 10",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> TextChunker.chunk(tokenizer, "x", 64, 40));
    assertEquals("--chunkOverlap must be 0 to half of --chunkTokens' text tokens (31), but was 40", e.getMessage());
  }
}
