package io.pgembed.flink;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import io.pgembed.PipelineTestSupport;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** An artifacts table of real texts, and what the job wrote for it. */
final class FlinkTestRows {
  private FlinkTestRows() {}

  /** {@code n} rows (id 0..n-1) of the parity corpus; past its 300 texts, each text again with a copy number. */
  static Map<Long, String> createArtifacts(String db, int n) throws Exception {
    Map<Long, String> rows = new LinkedHashMap<>();
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus();
    try (Connection c = DriverManager.getConnection(db)) {
      c.createStatement().execute("CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts VALUES (?, ?)")) {
        for (int i = 0; i < n; i++) {
          String text = corpus.get(i % corpus.size()).text() + (i < corpus.size() ? "" : " (copy " + i / corpus.size() + ")");
          rows.put((long) i, text);
          ps.setLong(1, i);
          ps.setString(2, text);
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    return rows;
  }

  /** artifact_id -> embedding of artifacts_embeddings. */
  static Map<Long, float[]> vectors(String db) throws Exception {
    Map<Long, float[]> out = new TreeMap<>();
    PipelineTestSupport.vectors(db, "artifacts_embeddings").forEach((id, v) -> out.put(Long.valueOf(id), v));
    return out;
  }

  /** The target holds a vector for every row and no other, and each is the model's vector of that row's text. */
  static void assertEveryRowEmbedded(Map<Long, String> rows, String db) throws Exception {
    Map<Long, float[]> vectors = vectors(db);
    assertEquals(rows.keySet(), vectors.keySet());
    List<Long> ids = new ArrayList<>(rows.keySet());
    try (EmbeddingPredictor p = TestModels.bundled().newPredictor()) {
      for (int from = 0; from < ids.size(); from += 32) {
        List<Long> chunk = ids.subList(from, Math.min(ids.size(), from + 32));
        List<String> texts = new ArrayList<>();
        chunk.forEach(id -> texts.add(rows.get(id)));
        float[][] expected = p.embedTexts(texts);
        for (int i = 0; i < chunk.size(); i++) {
          assertThat("id " + chunk.get(i), TestModels.cosine(expected[i], vectors.get(chunk.get(i))),
              greaterThanOrEqualTo(0.99999));
        }
      }
    }
  }
}
