package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.options;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import io.pgembed.commands.SearchCommand;
import io.pgembed.db.PgVectorServer;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TestModels;
import io.pgembed.options.OptionSources;
import io.pgembed.options.SearchOptions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The value of chunking, shown: a long document whose distinctive passage sits past its first 1,000 tokens is the
 * top hit for a paraphrase of that passage with --chunking=tokens, and is not without (its one vector saw only the
 * first 256 tokens). Search over chunks returns each document once, with the excerpt of its best chunk; on real[]
 * (a scan) and on pgvector (through the HNSW index).
 */
public class ChunkSearchTest {
  private static final ModelSpec MODEL = ModelLoader.builder().build();
  private static final String PASSAGE = "Every morning at dawn the lighthouse keeper fed sardines to the seagulls."
      + " He carried the bucket of fish down to the rocks below the tower, and the gulls knew him and gathered as"
      + " soon as his door opened. When the birds had eaten he climbed the spiral stairs to polish the great brass"
      + " lens, trimmed the wick, and wrote the weather in his log. The keeper had fed the gulls this way for thirty"
      + " years, through storms and calm seas, and the island's fishermen said the birds would miss him more than"
      + " anyone when he retired.";
  private static final String QUERY = "the man who looked after the lighthouse gave fish to the gulls at sunrise";

  /** Document 1: 1,200+ tokens of code and prose, the passage, more of the same; then 20 shorter distractors. */
  private static Map<Long, String> createDocs(String db) throws Exception {
    String filler = ChunkingTest.document(100, 60);
    assertThat(TestModels.bundled().tokenizer().countWhole(filler.substring(0, filler.length() / 2)),
        greaterThan(1000));
    String longDoc = filler.substring(0, filler.length() / 2) + "\n\n" + PASSAGE + "\n\n"
        + filler.substring(filler.length() / 2);
    return PipelineTestSupport.createDocs(db, 21, i -> i == 1 ? longDoc : i == 2
        ? "Fishing boats come back to the harbour in the evening, and gulls follow them for scraps."
        : ChunkingTest.document((int) i * 11, 3));
  }

  private static List<io.pgembed.search.VectorSearch.Hit> search(String db, String... extra) throws Exception {
    String[] args = new String[extra.length + 4];
    args[0] = "--jdbcUrl=" + db;
    args[1] = "--sourceTable=docs";
    args[2] = "--top=5";
    args[3] = "--query=" + QUERY;
    System.arraycopy(extra, 0, args, 4, extra.length);
    SearchOptions o = OptionSources.parse(args, Map.of(), SearchOptions.class);
    return SearchCommand.run(o, TestModels.bundled(), TestModels.bundled().newPredictor());
  }

  @Test
  public void aPassagePastTheFirstThousandTokensIsFoundOnlyWithChunking() throws Exception {
    String db = TestDatabase.newDatabase("chunksearch");
    createDocs(db);
    assertEquals(RunStatus.COMPLETE, PipelineTestSupport.runWhole(options(db, "--sourceTable=docs"), MODEL).status());
    RunReport chunked =
        PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--chunking=tokens"), MODEL);
    assertEquals(RunStatus.COMPLETE, chunked.status());

    List<io.pgembed.search.VectorSearch.Hit> truncated = search(db);
    assertNotEquals("without chunking the long document's vector never saw the passage", "1", truncated.get(0).id());
    List<io.pgembed.search.VectorSearch.Hit> hits = search(db, "--chunking=tokens");
    assertEquals("1", hits.get(0).id());
    assertThat("the excerpt is the best chunk's, holding the passage", hits.get(0).text(), containsString(
        "lighthouse keeper fed sardines"));
    assertEquals("each document once", hits.size(), new HashSet<>(hits.stream().map(io.pgembed.search.VectorSearch.Hit::id).toList())
        .size());
  }

  @Test
  public void chunksOnPgvectorAreSearchedThroughTheIndexOneHitPerDocument() throws Exception {
    String db = PgVectorServer.newDatabase("chunkvec");
    createDocs(db);
    RunReport run = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--chunking=tokens",
        "--vectorType=vector", "--hnswIndex=true"), MODEL);
    assertEquals(RunStatus.COMPLETE, run.status());
    assertEquals("vector(384)", io.pgembed.PipelineTestSupport.firstValue(db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
        + " WHERE attrelid = 'docs_chunks'::regclass AND attname = 'embedding'"));
    assertEquals(Long.toString(run.metrics().chunks()), io.pgembed.PipelineTestSupport.firstValue(db, "SELECT count(*) FROM docs_chunks"));
    List<io.pgembed.search.VectorSearch.Hit> hits = search(db, "--chunking=tokens");
    assertEquals("1", hits.get(0).id());
    assertThat(hits.get(0).text(), containsString("lighthouse keeper fed sardines"));
    assertEquals(5, hits.size());
    assertEquals(5, new HashSet<>(hits.stream().map(io.pgembed.search.VectorSearch.Hit::id).toList()).size());
  }
}
