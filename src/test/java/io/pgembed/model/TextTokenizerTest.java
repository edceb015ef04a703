package io.pgembed.model;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * {@link TextTokenizer} reads the native encodings itself (ids, type ids, overflow count): every text of the parity
 * corpus, a text past the model's limit and edge cases must give exactly what DJL's own {@link Encoding} gives with the
 * same tokenizer.json and settings.
 */
public class TextTokenizerTest {
  private static HuggingFaceTokenizer djl(Map<String, String> options) throws Exception {
    try (InputStream in = TextTokenizerTest.class.getResourceAsStream(ModelLoader.BUNDLED_TOKENIZER)) {
      return HuggingFaceTokenizer.newInstance(in, options);
    }
  }

  private static List<String> texts(TextTokenizer tokenizer) {
    List<String> texts = new ArrayList<>();
    for (TestModels.CorpusText t : TestModels.parityCorpus()) {
      texts.add(t.text());
    }
    texts.add(TextChunkerTest.longDocument(tokenizer, 600)); // truncated to 256: the overflow must show
    texts.add("");
    texts.add(" ");
    texts.add("e\u0301t\u00e9 \uD83D\uDE00 \u4E2D\u6587 CAFÉ naïve");
    return texts;
  }

  @Test
  public void idsTypeIdsTruncationAndCountsEqualDjlsEncodings() throws Exception {
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    int max = tokenizer.maxLength();
    List<String> texts = texts(tokenizer);
    try (HuggingFaceTokenizer truncating = djl(Map.of("addSpecialTokens", "true", "truncation", "true",
            "padding", "false", "maxLength", Integer.toString(max), "modelMaxLength", Integer.toString(max)));
        HuggingFaceTokenizer whole = djl(Map.of("addSpecialTokens", "false", "truncation", "false",
            "padding", "false"))) {
      Encoding[] expected = truncating.batchEncode(texts, true, false);
      List<Tokenized> actual = tokenizer.tokenize(texts);
      assertEquals(texts.size(), actual.size());
      int truncated = 0;
      for (int i = 0; i < texts.size(); i++) {
        String what = "text " + i + " (" + texts.get(i).length() + " chars)";
        assertArrayEquals(what + ": ids", expected[i].getIds(), actual.get(i).ids());
        assertArrayEquals(what + ": type ids", expected[i].getTypeIds(), actual.get(i).typeIds());
        assertEquals(what + ": truncated", expected[i].exceedMaxLength(), actual.get(i).truncated());
        assertArrayEquals(what + ": one text alone", expected[i].getIds(), tokenizer.tokenize(texts.get(i)).ids());
        assertEquals(what + ": count", expected[i].getIds().length, tokenizer.count(texts.get(i)));
        assertEquals(what + ": count from the whole count", expected[i].getIds().length,
            Math.min(tokenizer.countWhole(texts.get(i)) + tokenizer.specialTokens(), max));
        assertEquals(what + ": whole count", whole.encode(texts.get(i), false, false).getIds().length,
            tokenizer.countWhole(texts.get(i)));
        boolean over = tokenizer.countWhole(texts.get(i)) + tokenizer.specialTokens() > max;
        assertEquals(what + ": truncated exactly when over the limit", over, actual.get(i).truncated());
        truncated += over ? 1 : 0;
      }
      assertTrue("some texts are cut to the model's limit, the long one among them", truncated >= 1);
      assertEquals(max, tokenizer.count(texts.get(texts.size() - 4)));
      assertTrue(tokenizer.countWhole(texts.get(texts.size() - 4)) >= 600);
    }
  }

  @Test
  public void aNullTextIsRefusedNamingIt() {
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    NullPointerException e = assertThrows(NullPointerException.class,
        () -> tokenizer.tokenize(Arrays.asList("a", null)));
    assertTrue(e.getMessage(), e.getMessage().contains("text 1 of 2 is null"));
    assertThrows(NullPointerException.class, () -> tokenizer.count(null));
  }
}
