package io.pgembed.model;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.OnnxEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import io.pgembed.model.TestModels.CorpusText;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.Test;

/**
 * "Any BERT-family model", proven on two more real third-party models loaded from Hugging Face style ONNX
 * directories ({@link ModelFamilies}): bge-small-en-v1.5 (CLS pooling, from its 1_Pooling/config.json) and
 * e5-small-v2 (mean pooling, shape inferred from the weights), 12 layers each. Reference: ONNX Runtime running the
 * same ONNX files through langchain4j. Every one of the >= 200 parity texts within the models' 512 tokens must reach
 * a cosine of 0.9999, in padded length-sorted batches; a text alone and in a padded batch give the same vector; the
 * fingerprints say which model, pooling and length made a vector.
 */
public class ModelFamiliesParityTest {
  private static void checkParity(Path dir, PoolingMode pooling, String expectedPooling) throws Exception {
    List<CorpusText> corpus = TestModels.parityCorpus();
    List<String> texts = corpus.stream().map(CorpusText::text).toList();
    try (EmbeddingModel model = ModelLoader.builder().model(dir.toString()).build().load();
        EmbeddingPredictor p = model.newPredictor()) {
      assertEquals(384, model.dimension());
      String fp = model.fingerprint().toString();
      assertTrue(fp, fp.startsWith(dir.getFileName() + " sha256:"));
      assertTrue(fp, fp.contains(" " + expectedPooling + " normalized max_length=512"));
      List<Tokenized> tokens = model.tokenizer().tokenize(texts);
      float[][] ours = LengthSortedBatches.embed(p, tokens, 16).vectors();
      OnnxEmbeddingModel reference =
          new OnnxEmbeddingModel(ModelFamilies.onnx(dir), dir.resolve("tokenizer.json"), pooling, Runnable::run);
      // langchain4j splits a text over 510 word pieces into parts and averages them; compare below that.
      List<Integer> compared = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        if (tokens.get(i).length() <= 510) {
          compared.add(i);
        }
      }
      List<float[]> expected = reference.embedAll(compared.stream().map(i -> TextSegment.from(texts.get(i))).toList())
          .content().stream().map(e -> e.vector()).toList();
      Map<String, Double> worstByKind = new TreeMap<>();
      for (int j = 0; j < compared.size(); j++) {
        int i = compared.get(j);
        double cos = TestModels.cosine(ours[i], expected.get(j));
        worstByKind.merge(corpus.get(i).kind(), cos, Math::min);
        assertThat(dir.getFileName() + " cosine for " + corpus.get(i).id() + ": " + texts.get(i), cos,
            greaterThanOrEqualTo(0.9999));
      }
      System.out.println(dir.getFileName() + " parity: " + compared.size() + " texts, worst cosine by kind "
          + worstByKind);
      assertThat(compared.size(), greaterThanOrEqualTo(200));
      assertEquals(List.of("code", "html", "markdown", "prose", "unicode", "whitespace"),
          new ArrayList<>(worstByKind.keySet()));

      // Batch invariance: every 8th text alone, and together in one batch padded to the longest.
      List<String> batch = new ArrayList<>();
      for (int i = 0; i < compared.size(); i += 8) {
        batch.add(texts.get(compared.get(i)));
      }
      float[][] together = p.embedTexts(batch);
      TokenBatch check = new TokenBatch(p.tokenizer().tokenize(batch));
      assertTrue("the batch really is padded", check.realTokens() < check.paddedTokens() / 2);
      for (int i = 0; i < batch.size(); i++) {
        assertThat("text " + i, TestModels.cosine(p.embedTexts(List.of(batch.get(i)))[0], together[i]),
            greaterThanOrEqualTo(0.99999));
      }
    }
  }

  @Test
  public void bgeSmallWithClsPoolingMatchesOnnxRuntime() throws Exception {
    checkParity(ModelFamilies.bgeSmall(), PoolingMode.CLS, "cls");
  }

  @Test
  public void e5SmallWithMeanPoolingMatchesOnnxRuntime() throws Exception {
    checkParity(ModelFamilies.e5Small(), PoolingMode.MEAN, "mean");
  }

  @Test
  public void fingerprintsTellTheModelsPoolingsAndLengthsApart() {
    String bge = ModelLoader.builder().model(ModelFamilies.bgeSmall().toString()).build().load().fingerprint()
        .toString();
    String bgeAgain = ModelLoader.builder().model(ModelFamilies.bgeSmall().toString()).build().load().fingerprint()
        .toString();
    String bgeMean = ModelLoader.builder().model(ModelFamilies.bgeSmall().toString()).pooling("mean").build().load()
        .fingerprint().toString();
    String bge256 = ModelLoader.builder().model(ModelFamilies.bgeSmall().toString()).maxLength(256).build().load()
        .fingerprint().toString();
    String e5 = ModelLoader.builder().model(ModelFamilies.e5Small().toString()).build().load().fingerprint()
        .toString();
    String minilm = TestModels.bundled().fingerprint().toString();
    assertEquals("the same files give the same fingerprint", bge, bgeAgain);
    assertEquals(bge.replace(" cls ", " mean "), bgeMean);
    assertEquals(bge.replace("max_length=512", "max_length=256"), bge256);
    assertNotEquals(bge.split(" ")[1], e5.split(" ")[1]);
    assertNotEquals(e5.split(" ")[1], minilm.split(" ")[1]);
  }
}
