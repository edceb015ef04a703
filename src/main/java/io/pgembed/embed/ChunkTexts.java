package io.pgembed.embed;

import static io.pgembed.metrics.EmbeddingMetrics.CHUNKS;
import static io.pgembed.metrics.EmbeddingMetrics.COVERED_TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.DOCUMENTS;
import static io.pgembed.metrics.EmbeddingMetrics.SOURCE_TOKENS;

import io.pgembed.db.RowKey;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextChunker;
import io.pgembed.model.TextTokenizer;
import java.util.List;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Documents in, what the model embeds out: with chunking, each document's token-exact chunks
 * ({@link TextChunker}), keyed by the document's {@link RowKey} with the chunk's place, count and character range
 * (in code points); without, the documents unchanged. Either way it counts documents, chunks, the documents' tokens
 * and the tokens some vector covers (all of them with chunking; the first max length's without), with the model's
 * own tokenizer (the JVM's shared model). NULL and blank texts pass unchanged, for the embed step to skip.
 *
 * <pre>{@code
 * rows.apply("Chunk", ChunkTexts.of(spec, 256, 25));   // or ChunkTexts.measuring(spec)
 * }</pre>
 */
public final class ChunkTexts extends PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> {
  private final ModelSpec spec;
  private final int chunkTokens;
  private final int overlapTokens;

  private ChunkTexts(ModelSpec spec, int chunkTokens, int overlapTokens) {
    this.spec = spec;
    this.chunkTokens = chunkTokens;
    this.overlapTokens = overlapTokens;
  }

  /** Chunks of at most {@code chunkTokens} tokens (special tokens included), overlapping by {@code overlapTokens}. */
  public static ChunkTexts of(ModelSpec spec, int chunkTokens, int overlapTokens) {
    if (chunkTokens < 1 || overlapTokens < 0) {
      throw new IllegalArgumentException("--chunkTokens must be >= 1 and --chunkOverlap >= 0, but were "
          + chunkTokens + " and " + overlapTokens);
    }
    return new ChunkTexts(spec, chunkTokens, overlapTokens);
  }

  /** No chunking: the documents pass unchanged, and only their coverage is counted. */
  public static ChunkTexts measuring(ModelSpec spec) {
    return new ChunkTexts(spec, 0, 0);
  }

  @Override
  public PCollection<KV<RowKey, String>> expand(PCollection<KV<RowKey, String>> docs) {
    return docs.apply(ParDo.of(new ChunkFn(spec, chunkTokens, overlapTokens))).setCoder(docs.getCoder());
  }

  private static final class ChunkFn extends DoFn<KV<RowKey, String>, KV<RowKey, String>> {
    private final ModelSpec spec;
    private final int chunkTokens;
    private final int overlapTokens;
    private transient TextTokenizer tokenizer;

    ChunkFn(ModelSpec spec, int chunkTokens, int overlapTokens) {
      this.spec = spec;
      this.chunkTokens = chunkTokens;
      this.overlapTokens = overlapTokens;
    }

    @Setup
    public void setup() {
      tokenizer = SharedModels.acquire(spec).tokenizer();
      if (chunkTokens > tokenizer.maxLength()) {
        SharedModels.release(spec);
        tokenizer = null;
        throw new IllegalArgumentException("--chunkTokens=" + chunkTokens + " is above the model's maximum length"
            + " of " + spec + "; chunks would be truncated");
      }
    }

    @ProcessElement
    public void process(@Element KV<RowKey, String> doc, OutputReceiver<KV<RowKey, String>> out) {
      String text = doc.getValue();
      if (text == null || text.isBlank()) {
        out.output(doc);
        return;
      }
      DOCUMENTS.inc();
      if (chunkTokens == 0) {
        int tokens = tokenizer.countWhole(text);
        SOURCE_TOKENS.inc(tokens);
        COVERED_TOKENS.inc(Math.min(tokens, tokenizer.maxLength() - tokenizer.specialTokens()));
        out.output(doc);
        return;
      }
      int[][] spans = tokenizer.tokenSpans(text);
      List<TextChunker.Chunk> chunks = TextChunker.chunk(tokenizer, text, spans, chunkTokens, overlapTokens);
      int[] last = {0, 0}; // (UTF-16 index, code points before it): offsets in code points, counted once
      for (TextChunker.Chunk c : chunks) {
        int start = codePoints(text, c.start(), last);
        int end = codePoints(text, c.end(), last);
        out.output(KV.of(doc.getKey().chunk(c.seq(), chunks.size(), start, end), text.substring(c.start(), c.end())));
      }
      CHUNKS.inc(chunks.size());
      SOURCE_TOKENS.inc(spans.length);
      COVERED_TOKENS.inc(spans.length); // every token is in some chunk, none truncated
    }

    /** Code points before UTF-16 index {@code index}, counting on from the last look ({@code last}). */
    private static int codePoints(String text, int index, int[] last) {
      if (index < last[0]) {
        last[0] = 0;
        last[1] = 0;
      }
      last[1] += text.codePointCount(last[0], index);
      last[0] = index;
      return last[1];
    }

    @Teardown
    public void teardown() {
      if (tokenizer != null) {
        tokenizer = null;
        SharedModels.release(spec);
      }
    }
  }
}
