package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.options;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.TestDatabase;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TestModels;
import io.pgembed.model.TextTokenizer;
import io.pgembed.model.Tokenized;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * --chunking=tokens against a real PostgreSQL with the real model: a long document's chunks fit the model and
 * cover it exactly (read back through their offsets with SQL), each vector is its chunk's, a rerun embeds nothing,
 * a document that shrinks loses its extra chunks, a deleted one all of them, and a poison chunk is its document's
 * failure, naming the chunk.
 */
public class ChunkingTest {
  private static final ModelSpec MODEL = ModelLoader.builder().build();

  /** A document of about {@code paragraphs} paragraphs of prose and code from the parity corpus. */
  public static String document(int from, int paragraphs) {
    StringBuilder sb = new StringBuilder();
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    for (int i = 0; i < paragraphs; i++) {
      sb.append(corpus.get((from + i * 7) % corpus.size()).text().strip()).append(i % 3 == 2 ? "\n\n" : " ");
    }
    return sb.toString();
  }

  /** (seq, start, end, chunk_count, text from the offsets) of a document's chunks, in order. */
  private static List<Object[]> chunks(String db, long id) throws Exception {
    List<Object[]> out = new ArrayList<>();
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("SELECT e.chunk_seq, e.chunk_start, e.chunk_end, e.chunk_count,"
            + " substr(d.content, e.chunk_start + 1, e.chunk_end - e.chunk_start), e.content_sha256 ="
            + " sha256(convert_to(d.content, 'UTF8')) FROM docs_chunks e JOIN docs d ON d.id = e.artifact_id"
            + " WHERE e.artifact_id = ? ORDER BY e.chunk_seq")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          assertTrue("chunk " + rs.getInt(1) + " of " + id + " has the current text's hash", rs.getBoolean(6));
          out.add(new Object[] {rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getString(5)});
        }
      }
    }
    return out;
  }

  @Test
  public void aLongDocumentIsChunkedExactlyAndKeptInStepWithItsSource() throws Exception {
    String db = TestDatabase.newDatabase("chunks");
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    String longDoc = document(0, 240);
    assertThat(tokenizer.countWhole(longDoc), greaterThan(5000));
    Map<Long, String> docs = PipelineTestSupport.createDocs(db, 3, i -> i == 1 ? longDoc : document((int) i * 40,
        i == 2 ? 1 : 12));
    RunReport first = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--chunking=tokens"), MODEL);
    assertEquals(RunStatus.COMPLETE, first.status());
    assertEquals(3, first.read());
    assertEquals(3, first.metrics().documents());
    assertEquals(1.0, first.tokenCoverage(), 0);
    assertEquals(count(db, "SELECT count(*) FROM docs_chunks"), first.metrics().chunks());
    assertEquals(first.metrics().chunks(), first.embedded());

    // The long document: chunks that fit, that cover it exactly (joined on their offsets, minus overlaps), and
    // vectors that are their chunk's.
    List<Object[]> chunks = chunks(db, 1);
    assertThat(chunks.size(), greaterThan(5000 / 256));
    int[] codePoints = longDoc.codePoints().toArray();
    StringBuilder joined = new StringBuilder();
    int end = 0;
    for (Object[] c : chunks) {
      assertEquals(chunks.size(), c[3]);
      Tokenized t = tokenizer.tokenize((String) c[4]);
      assertThat("chunk " + c[0] + " fits", t.length(), lessThanOrEqualTo(256));
      assertThat("chunk " + c[0] + " starts within the text before it", (Integer) c[1], lessThanOrEqualTo(end));
      joined.append(new String(codePoints, Math.max(end, (Integer) c[1]), (Integer) c[2] - Math.max(end, (Integer) c[1])));
      end = (Integer) c[2];
    }
    assertEquals(longDoc, joined.toString());
    Map<String, float[]> stored = PipelineTestSupport.vectors(db, "(SELECT chunk_seq AS artifact_id, embedding"
        + " FROM docs_chunks WHERE artifact_id = 1 AND chunk_seq IN (0, 7)) c");
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      for (int seq : new int[] {0, 7}) {
        float[] expected = p.embedTexts(List.of((String) chunks.get(seq)[4]))[0];
        org.junit.Assert.assertArrayEquals("chunk " + seq, expected, stored.get(Integer.toString(seq)), 1e-5f);
      }
    }
    assertEquals("a short document is one chunk of itself", 1, chunks(db, 2).size());
    assertEquals(docs.get(2L), chunks(db, 2).get(0)[4]);

    // A rerun embeds nothing.
    assertEquals(0, PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--chunking=tokens"), MODEL).read());

    // The long document shrinks to 4 or so chunks; document 3 is deleted.
    String shorter = document(0, 12) + "\n\n" + document(50, 12) + "\n\n" + document(90, 10);
    try (Connection c = PipelineTestSupport.connect(db);
        PreparedStatement ps = c.prepareStatement("UPDATE docs SET content = ? WHERE id = 1")) {
      ps.setString(1, shorter);
      ps.executeUpdate();
    }
    execute(db, "DELETE FROM docs WHERE id = 3");
    RunReport edited = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--chunking=tokens"), MODEL);
    assertEquals(1, edited.read());
    List<Object[]> after = chunks(db, 1);
    assertThat(after.size(), lessThanOrEqualTo(chunks.size() / 2));
    assertEquals("no stale chunks past the new count", after.size(),
        count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1"));
    assertEquals(after.size(), count(db, "SELECT max(chunk_seq) + 1 FROM docs_chunks WHERE artifact_id = 1"));
    assertEquals(shorter.substring(0, ((String) after.get(0)[4]).length()), after.get(0)[4]);
    assertEquals("a deleted document loses all its chunks", 0,
        count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 3"));
  }

  @Test
  public void aPoisonChunkIsItsDocumentsFailureNamingTheChunk() throws Exception {
    String db = TestDatabase.newDatabase("chunkfail");
    String poisoned = document(0, 20) + "\n\nPOISON in the middle of it. " + document(30, 20);
    PipelineTestSupport.createDocs(db, 2, i -> i == 1 ? poisoned : document(60, 30));
    ModelSpec spec = InjectedFaults.of(MODEL).failOnTextMatching("POISON");
    String[] args = {"--sourceTable=docs", "--chunking=tokens", "--chunkTokens=128", "--maxAttempts=2"};
    RunReport first = PipelineTestSupport.runWhole(options(db, args), spec);
    assertEquals(1, first.failed());
    assertEquals(1, count(db, "SELECT count(*) FROM embedding_failures"));
    String message;
    try (Connection c = PipelineTestSupport.connect(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT artifact_id, message, attempts FROM embedding_failures")) {
      rs.next();
      assertEquals("1", rs.getString(1));
      message = rs.getString(2);
      assertEquals(1, rs.getInt(3));
    }
    assertThat(message, containsString(" (characters "));
    assertThat(message, containsString("a text matched the injected fault /POISON/"));
    java.util.regex.Matcher named = java.util.regex.Pattern.compile("^chunk (\\d+) of (\\d+) ").matcher(message);
    assertTrue(message, named.find());
    int seq = Integer.parseInt(named.group(1));
    int of = Integer.parseInt(named.group(2));
    System.out.println("poison: " + message);
    assertEquals("the other chunks are written", of - 1,
        count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1"));
    assertEquals(0, count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1 AND chunk_seq = " + seq));
    // The document stays pending until --maxAttempts, counting each run once.
    RunReport second = PipelineTestSupport.runWhole(options(db, args), spec);
    assertEquals(1, second.read());
    assertEquals(2, count(db, "SELECT attempts FROM embedding_failures WHERE artifact_id = '1'"));
    assertEquals(0, PipelineTestSupport.runWhole(options(db, args), spec).read());
    // Fixed, it is embedded whole and its failure record goes.
    execute(db, "UPDATE docs SET content = replace(content, 'POISON', 'antidote') WHERE id = 1");
    RunReport fixed = PipelineTestSupport.runWhole(options(db, args), spec);
    assertEquals(1, fixed.read());
    assertEquals(0, count(db, "SELECT count(*) FROM embedding_failures"));
    assertEquals(count(db, "SELECT min(chunk_count) FROM docs_chunks WHERE artifact_id = 1"),
        count(db, "SELECT count(*) FROM docs_chunks WHERE artifact_id = 1"));
  }

  /**
   * Without chunking every non-blank row is measured once as a document, from the tokenization that picks its length
   * bucket, with length buckets or without: documents, their whole tokens, and the tokens a vector covers.
   */
  @Test
  public void aRunWithoutChunkingMeasuresEveryRowOnceAsADocument() throws Exception {
    String db = TestDatabase.newDatabase("measured");
    TextTokenizer tokenizer = TestModels.bundled().tokenizer();
    String longDoc = document(3, 40);
    Map<Long, String> docs = PipelineTestSupport.createDocs(db, 6, i -> switch ((int) i) {
      case 1 -> longDoc;
      case 2 -> null;
      case 3 -> "  ";
      default -> document((int) i * 11, (int) i - 3);
    });
    long source = 0;
    long covered = 0;
    for (String text : docs.values()) {
      if (text != null && !text.isBlank()) {
        int whole = tokenizer.countWhole(text);
        source += whole;
        covered += Math.min(whole, tokenizer.maxLength() - tokenizer.specialTokens());
      }
    }
    assertThat("the long row is over the model's limit", tokenizer.countWhole(longDoc), greaterThan(300));
    for (String buckets : List.of("true", "false")) {
      RunReport r = PipelineTestSupport.runWhole(options(db, "--sourceTable=docs", "--targetTable=docs_" + buckets,
          "--lengthBuckets=" + buckets), MODEL);
      assertEquals(RunStatus.COMPLETE, r.status());
      assertEquals("lengthBuckets=" + buckets, 4, r.embedded());
      assertEquals("lengthBuckets=" + buckets, 4, r.metrics().documents());
      assertEquals("lengthBuckets=" + buckets, source, r.metrics().sourceTokens());
      assertEquals("lengthBuckets=" + buckets, covered, r.metrics().coveredTokens());
      assertEquals(0, r.metrics().chunks());
    }
  }
}
