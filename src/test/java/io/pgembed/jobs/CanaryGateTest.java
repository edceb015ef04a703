package io.pgembed.jobs;

import static io.pgembed.db.TestDatabase.count;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.commands.CanaryCommands;
import io.pgembed.commands.CanaryGate;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.ModelFamilies;
import io.pgembed.model.TestModels;
import io.pgembed.options.CanaryReportOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.PipelineTestSupport;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The canary quality gate, end to end through the launcher: {@code run --canaryModel} embeds the sample with the
 * candidate's own model spec while the main model's options stay as they are; {@code canary-report} judges; and
 * {@code promote} refuses a candidate of another family (e5-small-v2 against MiniLM: the neighbours differ) with
 * exit code 5 and a recorded decision, and switches to a near-identical one (MiniLM at 128 tokens instead of 256).
 */
public class CanaryGateTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static List<String> models(String db, String table) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db);
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT model, count(*) FROM " + table + " GROUP BY model ORDER BY model")) {
      while (rs.next()) {
        out.add(rs.getString(1).replaceAll(" sha256:\\w+", "") + " x" + rs.getLong(2));
      }
    }
    return out;
  }

  private static JsonNode job(String db, long id) throws Exception {
    try (Connection c = DriverManager.getConnection(db);
        PreparedStatement ps = c.prepareStatement(
            "SELECT json_build_object('status', status, 'error', error, 'params', params)::text"
                + " FROM embedding_jobs WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue("job " + id + " is recorded", rs.next());
        return JSON.readTree(rs.getString(1));
      }
    }
  }

  private static long lastJob(String db) throws Exception {
    return count(db, "SELECT max(id) FROM embedding_jobs");
  }

  @Test
  public void anotherFamilyIsRefusedAndANearIdenticalCandidateIsPromoted() throws Exception {
    String db = TestDatabase.newDatabase("gate");
    int rows = 240;
    try (Connection c = DriverManager.getConnection(db)) {
      c.createStatement().execute("CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts VALUES (?, ?)")) {
        for (int i = 0; i < rows; i++) {
          ps.setLong(1, i);
          ps.setString(2, TestModels.parityCorpus().get(i).text());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    String url = "--jdbcUrl=" + db;
    String e5 = "--canaryModel=" + ModelFamilies.e5Small();
    long sample = count(db, "SELECT count(*) FROM artifacts WHERE mod(('x' || substr(md5(id::text), 1, 8))::bit(32)"
        + "::bigint, 100) < 25");

    // 1. run --canaryModel: the main model embeds every row as always, the candidate the 25% sample.
    String[] ran = PipelineTestSupport.launch("run", url, "--sourceTable=artifacts", "--device=cpu", e5,
        "--canaryPercent=25");
    assertEquals(ran[1], "0", ran[0]);
    assertEquals(List.of("all-minilm-l6-v2 mean normalized max_length=256 x" + rows),
        models(db, "artifacts_embeddings"));
    assertEquals(List.of("e5-small-v2 mean normalized max_length=512 x" + sample),
        models(db, "artifacts_embeddings_canary"));

    // 2. The gate says no: another family ranks the rows' neighbours differently.
    CanaryGate.Report refused = CanaryCommands.report(OptionSources.parse(
        new String[] {url, "--sourceTable=artifacts", "--device=cpu", e5}, Map.of(), CanaryReportOptions.class));
    System.out.println("e5 against MiniLM: overlap " + refused.meanOverlap() + ", reasons "
        + refused.verdict().reasons());
    assertEquals(sample, refused.rows());
    assertFalse(refused.sameWeights());
    assertFalse(refused.verdict().pass());
    assertThat(refused.meanOverlap(), lessThan(0.8));
    assertEquals(List.of(String.format("mean top-10 neighbour overlap %.3f is below --canaryMinOverlap=0.8",
        refused.meanOverlap())), refused.verdict().reasons());

    // 3. promote refuses: exit 5, nothing copied, the decision recorded as a cancelled job.
    String[] promote = PipelineTestSupport.launch("promote", url, "--sourceTable=artifacts", "--device=cpu", e5,
        "--queue=rollout");
    assertEquals(promote[1], "5", promote[0]);
    assertThat(promote[1], containsString("promote refused: the canary gate said no (mean top-10 neighbour overlap"));
    assertEquals(List.of("all-minilm-l6-v2 mean normalized max_length=256 x" + rows),
        models(db, "artifacts_embeddings"));
    JsonNode decision = job(db, lastJob(db));
    assertEquals("cancelled", decision.path("status").asText());
    assertThat(decision.path("error").asText(), containsString("canary gate refused " + ModelFamilies.e5Small()));
    assertEquals("fail", decision.path("params").path("canary").path("verdict").asText());
    assertEquals("refused", decision.path("params").path("canary").path("decision").asText());
    assertEquals(refused.meanOverlap(),
        decision.path("params").path("canary").path("mean_top10_overlap").asDouble(), 1e-12);

    // 4. A near-identical candidate: the same model truncating at 128 tokens. Only the candidate changes.
    String[] minilm128 = {"--canaryModel=all-minilm-l6-v2", "--canaryMaxLength=128"};
    ran = PipelineTestSupport.launch("run", url, "--sourceTable=artifacts", "--device=cpu", minilm128[0],
        minilm128[1], "--canaryPercent=25");
    assertEquals(ran[1], "0", ran[0]);
    assertEquals("the main model's options never change because a canary runs",
        List.of("all-minilm-l6-v2 mean normalized max_length=256 x" + rows), models(db, "artifacts_embeddings"));
    assertEquals(List.of("all-minilm-l6-v2 mean normalized max_length=128 x" + sample),
        models(db, "artifacts_embeddings_canary"));
    CanaryGate.Report passed = CanaryCommands.report(OptionSources.parse(
        new String[] {url, "--sourceTable=artifacts", "--device=cpu", minilm128[0], minilm128[1]}, Map.of(),
        CanaryReportOptions.class));
    System.out.println("MiniLM 128 against 256: overlap " + passed.meanOverlap() + ", drift " + passed.meanDrift());
    assertTrue(passed.sameWeights());
    assertTrue(passed.verdict().reasons().toString(), passed.verdict().pass());
    assertThat(passed.meanOverlap(), greaterThan(0.9));
    assertEquals(0, passed.candidateFailed());
    assertEquals(sample, passed.candidateAttempted());

    // 5. promote switches: the canary vectors are copied, the job re-embeds the rest with the whole candidate spec.
    promote = PipelineTestSupport.launch("promote", url, "--sourceTable=artifacts", "--device=cpu", minilm128[0],
        minilm128[1], "--queue=rollout");
    assertEquals(promote[1], "0", promote[0]);
    assertEquals(List.of("all-minilm-l6-v2 mean normalized max_length=128 x" + sample,
        "all-minilm-l6-v2 mean normalized max_length=256 x" + (rows - sample)), models(db, "artifacts_embeddings"));
    JsonNode queued = job(db, lastJob(db));
    assertEquals("queued", queued.path("status").asText());
    assertEquals("promoted", queued.path("params").path("canary").path("decision").asText());
    assertEquals("pass", queued.path("params").path("canary").path("verdict").asText());
    List<String> args = new ArrayList<>();
    queued.path("params").path("args").forEach(a -> args.add(a.asText()));
    assertTrue(args.toString(), args.contains("--model=all-minilm-l6-v2") && args.contains("--maxLength=128"));
    assertFalse(args.toString(), args.stream().anyMatch(a -> a.startsWith("--canary")));
  }
}
