package io.pgembed.embed;

import static io.pgembed.metrics.EmbeddingMetrics.CHUNKS;
import static io.pgembed.metrics.EmbeddingMetrics.COVERED_TOKENS;
import static io.pgembed.metrics.EmbeddingMetrics.DOCUMENTS;
import static io.pgembed.metrics.EmbeddingMetrics.SOURCE_TOKENS;

import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextChunker;
import java.io.Serializable;
import java.util.List;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;

/**
 * Documents in, their token-exact chunks out ({@link TextChunker}), each keyed by {@link ChunkKeys} from its
 * document's key and its place: seq, count and character range in code points (PostgreSQL's characters). Counts
 * documents, chunks, the documents' tokens and the tokens some chunk covers (all of them), with the model's own
 * tokenizer. NULL and blank texts pass unchanged, for the embed step to skip. Any key type works: the job's
 * {@code RowKey}, or a file's line number in your own pipeline.
 *
 * <pre>{@code
 * rows.apply("Chunk", ChunkTexts.of(spec, 256, 25, RowKey::chunk));
 * }</pre>
 */
public final class ChunkTexts<K> extends PTransform<PCollection<KV<K, String>>, PCollection<KV<K, String>>> {
  /** The key of chunk {@code seq} of {@code count} of a document, code points {@code [start, end)} of its text. */
  @FunctionalInterface
  public interface ChunkKeys<K> extends Serializable {
    K chunk(K document, int seq, int count, int start, int end);
  }

  private final ModelSpec spec;
  private final int chunkTokens;
  private final int overlapTokens;
  private final ChunkKeys<K> keys;

  private ChunkTexts(ModelSpec spec, int chunkTokens, int overlapTokens, ChunkKeys<K> keys) {
    this.spec = spec;
    this.chunkTokens = chunkTokens;
    this.overlapTokens = overlapTokens;
    this.keys = keys;
  }

  /** Chunks of at most {@code chunkTokens} tokens (special tokens included), overlapping by {@code overlapTokens}. */
  public static <K> ChunkTexts<K> of(ModelSpec spec, int chunkTokens, int overlapTokens, ChunkKeys<K> keys) {
    if (chunkTokens < 1 || overlapTokens < 0) {
      throw new IllegalArgumentException("--chunkTokens must be >= 1 and --chunkOverlap >= 0, but were "
          + chunkTokens + " and " + overlapTokens);
    }
    if (keys == null) {
      throw new IllegalArgumentException("keys must not be null: how a chunk's key is made from its document's");
    }
    return new ChunkTexts<>(spec, chunkTokens, overlapTokens, keys);
  }

  @Override
  public PCollection<KV<K, String>> expand(PCollection<KV<K, String>> docs) {
    return docs.apply(ParDo.of(new ChunkFn<K>(spec, chunkTokens, overlapTokens, keys))).setCoder(docs.getCoder());
  }

  private static final class ChunkFn<K> extends TokenizerFn<KV<K, String>, KV<K, String>> {
    private final ModelSpec spec;
    private final int chunkTokens;
    private final int overlapTokens;
    private final ChunkKeys<K> keys;

    ChunkFn(ModelSpec spec, int chunkTokens, int overlapTokens, ChunkKeys<K> keys) {
      super(spec);
      this.spec = spec;
      this.chunkTokens = chunkTokens;
      this.overlapTokens = overlapTokens;
      this.keys = keys;
    }

    @Override
    public void setup() {
      super.setup();
      if (chunkTokens > tokenizer.maxLength()) {
        teardown();
        throw new IllegalArgumentException("--chunkTokens=" + chunkTokens + " is above the model's maximum length"
            + " of " + spec + "; chunks would be truncated");
      }
    }

    @ProcessElement
    public void process(@Element KV<K, String> doc, OutputReceiver<KV<K, String>> out) {
      String text = doc.getValue();
      if (text == null || text.isBlank()) {
        out.output(doc);
        return;
      }
      DOCUMENTS.inc();
      int[][] spans = tokenizer.tokenSpans(text);
      List<TextChunker.Chunk> chunks = TextChunker.chunk(tokenizer, text, spans, chunkTokens, overlapTokens);
      int[] last = {0, 0}; // (UTF-16 index, code points before it): offsets in code points, counted once
      for (TextChunker.Chunk c : chunks) {
        int start = codePoints(text, c.start(), last);
        int end = codePoints(text, c.end(), last);
        out.output(KV.of(keys.chunk(doc.getKey(), c.seq(), chunks.size(), start, end),
            text.substring(c.start(), c.end())));
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
  }
}
