package io.pgembed.model;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class LengthSortedBatchesTest {

  @Test
  public void batchesRespectTheCountAndTokenCapsAndRestoreInputOrder() {
    EmbeddingModel model = TestModels.bundled();
    // Lengths with the special tokens: 3, 3, 3, 100, 100, 100, 300 (truncated to 256), shuffled.
    String[] texts = {
      "data ".repeat(98), "one", "data ".repeat(400), "two", "data ".repeat(97) + "x", "three", "y " + "data ".repeat(97)
    };
    List<Tokenized> tokens = model.tokenizer().tokenize(List.of(texts));
    try (EmbeddingPredictor p = model.newPredictor()) {
      // Count cap 4, token cap 250: [3,3,3] then [100,100] (a third would need 300) then [100] then [256] alone.
      LengthSortedBatches.Result r = LengthSortedBatches.embed(p, tokens, 4, 250);
      assertEquals(4, r.forwardPasses());
      assertEquals(1, r.truncated());
      assertEquals(3 * 3 + 3 * 100 + 256, r.realTokens());
      assertEquals(r.realTokens(), r.paddedTokens()); // equal lengths batch together: no padding at all
      List<float[]> alone = new ArrayList<>();
      for (String t : texts) {
        alone.add(p.embedTexts(List.of(t))[0]);
      }
      for (int i = 0; i < texts.length; i++) {
        assertThat("text " + i, TestModels.cosine(alone.get(i), r.vectors()[i]), greaterThanOrEqualTo(0.99999));
      }
      // Without a token cap only the count matters: [3,3,3,100] [100,100,256].
      assertEquals(2, LengthSortedBatches.embed(p, tokens, 4, 0).forwardPasses());
      assertThrows(IllegalArgumentException.class, () -> LengthSortedBatches.embed(p, tokens, 0, 0));
    }
  }
}
