package io.pgembed.embed;

import static io.pgembed.metrics.EmbeddingMetrics.COVERED_TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.DOCUMENTS;
import static io.pgembed.metrics.EmbeddingMetrics.SOURCE_TOKENS;

import io.pgembed.model.ModelSpec;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Documents pass unchanged, each measured with the model's own tokenizer: counts documents, their tokens, and the
 * tokens a vector covers (the first maximum length's; the rest is truncated). NULL and blank texts pass uncounted,
 * for the embed step to skip. {@link EmbedTexts#withMeasuring} counts the same without a step and a tokenization of
 * its own (what a run without chunking does); this transform is for a pipeline that measures elsewhere.
 *
 * <pre>{@code
 * rows.apply("Measure", MeasureTexts.<RowKey>of(spec));
 * }</pre>
 */
public final class MeasureTexts<K> extends PTransform<PCollection<KV<K, String>>, PCollection<KV<K, String>>> {
  private final ModelSpec spec;

  private MeasureTexts(ModelSpec spec) {
    this.spec = spec;
  }

  public static <K> MeasureTexts<K> of(ModelSpec spec) {
    return new MeasureTexts<>(spec);
  }

  @Override
  public PCollection<KV<K, String>> expand(PCollection<KV<K, String>> docs) {
    return docs.apply(ParDo.of(new MeasureFn<K>(spec))).setCoder(docs.getCoder());
  }

  private static final class MeasureFn<K> extends TokenizerFn<KV<K, String>, KV<K, String>> {
    MeasureFn(ModelSpec spec) {
      super(spec);
    }

    @ProcessElement
    public void process(@Element KV<K, String> doc, OutputReceiver<KV<K, String>> out) {
      String text = doc.getValue();
      if (text != null && !text.isBlank()) {
        DOCUMENTS.inc();
        int tokens = tokenizer.countWhole(text);
        SOURCE_TOKENS.inc(tokens);
        COVERED_TOKENS.inc(Math.min(tokens, tokenizer.maxLength() - tokenizer.specialTokens()));
      }
      out.output(doc);
    }
  }
}
