package io.pgembed.jobs;

import static io.pgembed.db.TestDatabase.count;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.commands.CanaryCommands;
import io.pgembed.commands.CanaryGate;
import io.pgembed.db.TestDatabase;
import io.pgembed.model.TestModels;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.CanaryReportOptions;
import io.pgembed.options.EnqueueOptions;
import io.pgembed.options.WorkerOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.Preflight;
import io.pgembed.pipeline.RunController;
import io.pgembed.pipeline.RunReport;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Canary rollout: exactly the hash-chosen rows get shadow vectors, the report compares, promote leaves no gap. */
public class CanaryTest {
  @Rule public final transient TestPipeline main = TestPipeline.create();
  @Rule public final transient TestPipeline canary = TestPipeline.create();
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static <T extends org.apache.beam.sdk.options.PipelineOptions> T parse(Class<T> type, String... args) {
    return OptionSources.parse(args, Map.of(), type);
  }

  private static RunReport run(TestPipeline p, EmbeddingPipelineOptions o) throws Exception {
    try (Preflight.Checked checked = Preflight.check(o, EmbeddingPipeline.modelSpec(o))) {
      p.apply("Embed pending rows", EmbeddingPipeline.embedPendingRows(checked, o));
      return RunController.execute(p, checked, o, () -> false);
    }
  }


  /** The sample rule in Java: md5(id) as hex, first 8 digits as an unsigned number, mod 100. */
  private static boolean inSample(long id, int percent) throws Exception {
    byte[] md5 = MessageDigest.getInstance("MD5").digest(Long.toString(id).getBytes(StandardCharsets.UTF_8));
    String hex = String.format("%032x", new BigInteger(1, md5));
    return Long.parseLong(hex.substring(0, 8), 16) % 100 < percent;
  }

  @Test
  public void canaryRowsReportAndAPromotionWithoutGaps() throws Exception {
    String db = TestDatabase.newDatabase("canary");
    try (Connection c = DriverManager.getConnection(db)) {
      c.createStatement().execute("CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts VALUES (?, ?)")) {
        for (int i = 0; i < 200; i++) {
          ps.setLong(1, i);
          ps.setString(2, TestModels.parityCorpus().get(i).text());
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
    Path candidate = TestModels.writeClsModel(tmp.newFolder("minilm-cls").toPath());
    String url = "--jdbcUrl=" + db;
    assertEquals(200, run(main, parse(EmbeddingPipelineOptions.class, url, "--device=cpu", "--sourceTable=artifacts")).embedded());

    // The candidate's run, as 'run --canaryModel=... --canaryPercent=25' makes it.
    RunReport shadow = run(canary, parse(EmbeddingPipelineOptions.class, url, "--device=cpu", "--sourceTable=artifacts",
        "--model=" + candidate, "--targetTable=artifacts_embeddings_canary", "--samplePercent=25"));
    Set<String> expected = new HashSet<>();
    for (long id = 0; id < 200; id++) {
      if (inSample(id, 25)) {
        expected.add(Long.toString(id));
      }
    }
    Set<String> got = new HashSet<>();
    try (Connection c = DriverManager.getConnection(db);
        ResultSet rs = c.createStatement().executeQuery("SELECT artifact_id::text FROM artifacts_embeddings_canary")) {
      while (rs.next()) {
        got.add(rs.getString(1));
      }
    }
    assertEquals("exactly the hash-chosen rows", expected, got);
    assertEquals(expected.size(), shadow.embedded());

    CanaryGate.Report report = CanaryCommands.report(parse(CanaryReportOptions.class, url, "--device=cpu",
        "--sourceTable=artifacts", "--canaryModel=" + candidate));
    assertTrue("same weights, other pooling: the drift gate applies", report.sameWeights());
    assertTrue(report.verdict().reasons().toString(), !report.verdict().pass());
    assertEquals(expected.size(), report.rows());
    assertEquals(20, report.probes());
    assertTrue(report.meanOverlap() > 0 && report.meanOverlap() <= 1);
    assertTrue("CLS and mean pooling differ: " + report.meanSelfSimilarity(),
        report.meanSelfSimilarity() > 0.3 && report.meanSelfSimilarity() < 0.99);

    // Promote while watching that no row is ever without a vector.
    AtomicBoolean watching = new AtomicBoolean(true);
    AtomicLong fewest = new AtomicLong(Long.MAX_VALUE);
    Thread watcher = new Thread(() -> {
      while (watching.get()) {
        try {
          fewest.accumulateAndGet(count(db, "SELECT count(*) FROM artifacts_embeddings"), Math::min);
          Thread.sleep(10); // the sampling interval
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          fewest.set(-1);
        }
      }
    });
    watcher.start();
    String[] promoteArgs = {url, "--device=cpu", "--sourceTable=artifacts", "--canaryModel=" + candidate, "--queue=rollout",
        "--retries=1", "--force"};
    // CLS against mean pooling of the same weights drifts far beyond the gate: only --force switches.
    CanaryCommands.Promotion promotion = CanaryCommands.promote(promoteArgs, parse(EnqueueOptions.class, promoteArgs));
    assertTrue(promotion.promoted() && promotion.forced());
    long job = promotion.jobId();
    String candidateFp;
    try (Connection c = DriverManager.getConnection(db);
        ResultSet rs = c.createStatement().executeQuery("SELECT DISTINCT model FROM artifacts_embeddings_canary")) {
      rs.next();
      candidateFp = rs.getString(1);
    }
    assertEquals(expected.size(), count(db, "SELECT count(*) FROM artifacts_embeddings WHERE model = '" + candidateFp + "'"));
    try (JobWorker worker = new JobWorker(parse(WorkerOptions.class, url, "--device=cpu", "--queue=rollout",
        "--exitWhenIdle", "--pollMs=100", "--port=0"), Map.of())) {
      worker.run();
    } finally {
      watching.set(false);
      watcher.join();
    }
    assertEquals("succeeded", JobWorkerTest.job(new JobQueue(new io.pgembed.db.Database(db, null, null)), job).status());
    assertEquals(200, count(db, "SELECT count(*) FROM artifacts_embeddings WHERE model = '" + candidateFp + "'"));
    assertEquals("no row was ever missing", 200, fewest.get());
  }
}
