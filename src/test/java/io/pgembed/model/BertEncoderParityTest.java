package io.pgembed.model;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pgembed.model.TestModels.CorpusText;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.BeforeClass;
import org.junit.Test;

/** The DJL encoder against ONNX Runtime's all-MiniLM-L6-v2 on 240 real texts. */
public class BertEncoderParityTest {
  private static EmbeddingModel model;
  private static MiniLmReference reference;

  @BeforeClass
  public static void load() throws Exception {
    model = TestModels.bundled();
    reference = MiniLmReference.open(256, Runnable::run);
  }

  @Test
  public void everyTextMatchesTheReferenceInLengthSortedPaddedBatches() {
    List<CorpusText> corpus = TestModels.parityCorpus();
    List<String> texts = corpus.stream().map(CorpusText::text).toList();
    List<Tokenized> tokens = model.tokenizer().tokenize(texts);
    float[][] ours;
    try (EmbeddingPredictor p = model.newPredictor()) {
      ours = LengthSortedBatches.embed(p, tokens, 16).vectors();
    }
    Map<String, Double> worstByKind = new TreeMap<>();
    int compared = 0;
    for (int i = 0; i < corpus.size(); i++) {
      if (tokens.get(i).truncated()) {
        continue; // parity is defined on texts within 256 tokens
      }
      double cos = TestModels.cosine(ours[i], reference.embed(texts.get(i)));
      worstByKind.merge(corpus.get(i).kind(), cos, Math::min);
      assertThat("cosine for " + corpus.get(i).id() + ": " + texts.get(i), cos, greaterThanOrEqualTo(0.9999));
      assertEquals("unit length for " + corpus.get(i).id(), 1.0, norm(ours[i]), 1e-5);
      compared++;
    }
    System.out.println("parity: " + compared + " texts, worst cosine by kind " + worstByKind);
    assertThat(compared, greaterThanOrEqualTo(200));
    assertEquals(
        "every kind of text is covered",
        List.of("code", "html", "markdown", "prose", "unicode", "whitespace"),
        new ArrayList<>(worstByKind.keySet()));
  }

  @Test
  public void aTextAloneAndInsideAPaddedBatchGiveTheSameVector() {
    List<String> texts = TestModels.parityCorpus().stream().map(CorpusText::text).limit(240).toList();
    // Every 8th text: short ones padded up to the longest, in input order (no sorting: maximal padding).
    List<String> batch = new ArrayList<>();
    for (int i = 0; i < texts.size(); i += 8) {
      batch.add(texts.get(i));
    }
    try (EmbeddingPredictor p = model.newPredictor()) {
      float[][] together = p.embedTexts(batch);
      TokenBatch check = new TokenBatch(p.tokenizer().tokenize(batch));
      assertTrue("the batch really is padded", check.realTokens() < check.paddedTokens() / 2);
      for (int i = 0; i < batch.size(); i++) {
        float[] alone = p.embedTexts(List.of(batch.get(i)))[0];
        assertThat("text " + i, TestModels.cosine(alone, together[i]), greaterThanOrEqualTo(0.99999));
      }
    }
  }

  @Test
  public void longTextsAreTruncatedTo256TokensAndCounted() {
    String word = "data "; // one word piece
    String longText = word.repeat(2000);
    String exact = word.repeat(254); // 254 word pieces + [CLS] + [SEP] = 256
    String over = word.repeat(255);
    List<Tokenized> t = model.tokenizer().tokenize(List.of(longText, exact, over, "short"));
    assertEquals(256, t.get(0).length());
    assertTrue(t.get(0).truncated());
    assertEquals(256, t.get(1).length());
    assertFalse("a text of exactly 256 tokens is not truncated", t.get(1).truncated());
    assertTrue(t.get(2).truncated());
    assertFalse(t.get(3).truncated());
    assertEquals(3, t.get(3).length());
    try (EmbeddingPredictor p = model.newPredictor()) {
      LengthSortedBatches.Result r = LengthSortedBatches.embed(p, t, 4);
      assertEquals(2, r.truncated());
      // Truncated text embeds as its first 256 tokens, exactly as the reference truncating at 256 does.
      assertThat(TestModels.cosine(r.vectors()[0], reference.embed(longText)), greaterThanOrEqualTo(0.9999));
      assertThat(TestModels.cosine(r.vectors()[0], r.vectors()[1]), greaterThanOrEqualTo(0.99999));
    }
  }

  @Test
  public void clsPoolingOverridesTheDefault() {
    try (EmbeddingModel cls = ModelLoader.builder().device("cpu").pooling("cls").normalize(false).build().load();
        EmbeddingPredictor p = cls.newPredictor();
        EmbeddingPredictor mean = model.newPredictor()) {
      assertEquals(Pooling.CLS, cls.fingerprint().pooling());
      assertFalse(cls.fingerprint().normalize());
      float[] a = p.embedTexts(List.of("PostgreSQL stores the vectors"))[0];
      float[] b = mean.embedTexts(List.of("PostgreSQL stores the vectors"))[0];
      assertTrue("unnormalized CLS vector is not unit length", Math.abs(norm(a) - 1) > 0.01);
      assertThat(TestModels.cosine(a, b), org.hamcrest.Matchers.lessThan(0.999));
    }
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }
}
