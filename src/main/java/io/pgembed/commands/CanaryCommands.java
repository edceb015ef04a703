package io.pgembed.commands;

import io.pgembed.db.CanaryQueries;
import io.pgembed.db.Database;
import io.pgembed.db.SqlIdentifier;
import io.pgembed.db.VectorType;
import io.pgembed.embed.EmbeddingFailure;
import io.pgembed.jobs.JobQueue;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.options.CanaryOptions;
import io.pgembed.options.CanaryReportOptions;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.EnqueueOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.TableOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Canary rollout of a candidate model: {@code run --canaryModel=M --canaryPercent=P} also embeds a deterministic
 * hash-chosen P% of the rows with M into {@code <target>_canary}; {@code canary-report} compares the two models on
 * those rows ({@link CanaryGate}); {@code promote} copies the candidate's vectors into the target and enqueues the
 * re-embedding of the rest. The current vectors stay until each row's new vector replaces it (upserts), so no row is
 * ever missing.
 */
public final class CanaryCommands {
  private CanaryCommands() {}

  /** {@code <target>_canary}: where the candidate's vectors go. */
  public static SqlIdentifier shadowTable(TableOptions o) {
    return TableOptions.tableNames(o).canary().target();
  }

  /**
   * The candidate's run: the same job with the candidate's own model spec (--canaryModel, --canaryPooling,
   * --canaryNormalize, --canaryMaxLength; never the main model's --pooling, --normalize or --maxLength), the shadow
   * table and the canary sample.
   */
  public static RunReport runCanary(String[] args, EmbeddingPipelineOptions o, Map<String, String> env) throws Exception {
    ModelLoader candidate = CanaryOptions.candidateOf(o, o);
    List<String> a = CanaryArguments.candidateRun(args, shadowTable(o).toString(), o.getCanaryPercent());
    EmbeddingPipelineOptions co = OptionSources.parse(a.toArray(new String[0]), env, EmbeddingPipelineOptions.class);
    // Set after parsing, so that no profile or environment value of the main model reaches the candidate.
    co.setModel(candidate.model());
    co.setPooling(candidate.pooling() == null ? null : candidate.pooling().label());
    co.setNormalize(candidate.normalize());
    co.setMaxLength(candidate.maxLength());
    System.out.printf("Canary: %s embeds %d%% of the rows into %s%n", candidate.model(), o.getCanaryPercent(),
        shadowTable(o));
    return EmbeddingPipeline.run(co);
  }

  /**
   * Compares current and candidate on the canary rows: reads both models' vectors of them, embeds the probes (the
   * --query, else the first 20 canary texts) with each model, counts the candidate's failures, and has
   * {@link CanaryGate} measure and judge them; prints the report.
   */
  public static CanaryGate.Report report(CanaryReportOptions o) throws Exception {
    if (o.getCanaryModel() == null) {
      throw new BadInputException("canary-report needs --canaryModel (the candidate) besides the run's options");
    }
    CanaryQueries queries = new CanaryQueries(TableOptions.tableNames(o));
    try (EmbeddingModel current = ModelOptions.loaderOf(o).load();
        EmbeddingModel candidate = CanaryOptions.candidateOf(o, o).load();
        EmbeddingPredictor pc = current.newPredictor();
        EmbeddingPredictor pn = candidate.newPredictor();
        Connection c = DatabaseOptions.database(o).connectReadOnly()) {
      String currentFp = current.fingerprint().toString();
      String candidateFp = candidate.fingerprint().toString();
      List<float[]> cur = new ArrayList<>();
      List<float[]> cand = new ArrayList<>();
      List<String> texts = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(queries.comparisonQuery(currentFp, candidateFp))) {
        while (rs.next()) {
          cur.add(VectorType.parseText(rs.getString(2)));
          cand.add(VectorType.parseText(rs.getString(3)));
          texts.add(rs.getString(4));
        }
      }
      if (cur.isEmpty()) {
        throw new BadInputException("no canary rows have vectors of both models (current " + currentFp
            + ", candidate " + candidateFp + "): run with the same --canaryModel and --canary* options first");
      }
      List<String> probes = o.getQuery() != null ? List.of(o.getQuery()) : texts.subList(0, Math.min(20, texts.size()));
      boolean sameWeights = current.fingerprint().weightsSha256().equals(candidate.fingerprint().weightsSha256());
      CanaryGate.Report r = CanaryGate.measure(o, cur, cand, pc.embedTexts(probes), pn.embedTexts(probes),
          sameWeights, candidateAttempts(c, queries, candidateFp), currentFp, candidateFp);
      System.out.print(CanaryGate.format(r, o));
      return r;
    }
  }

  /** The candidate's vectors and failure records among the canary rows: rows it tried, rows it failed. */
  private static CanaryGate.Attempts candidateAttempts(Connection c, CanaryQueries queries, String candidateFp)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(queries.attemptsQuery())) {
      ps.setString(1, candidateFp);
      ps.setString(2, candidateFp);
      ps.setString(3, EmbeddingFailure.SKIPPED_PREFIX);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new CanaryGate.Attempts(rs.getLong(1) + rs.getLong(2), rs.getLong(2));
      }
    }
  }

  /** What {@code promote} did: the job that re-embeds the rest (none when refused), and the gate's report. */
  public record Promotion(Long jobId, boolean promoted, boolean forced, CanaryGate.Report report) {}

  /**
   * Judges the candidate ({@link #report}); when the gate says yes (or --force), copies its canary vectors into the
   * target (upserts: the rows keep a vector throughout) and enqueues the re-embedding of every other row with the
   * candidate's whole model spec. Either way the decision, with its measurements, is recorded in the queue table:
   * a queued job, or a cancelled one whose error says why the gate refused.
   */
  public static Promotion promote(String[] args, EnqueueOptions o) throws Exception {
    if (o.getCanaryModel() == null) {
      throw new BadInputException("promote needs --canaryModel (the candidate to switch to)");
    }
    CanaryGate.Report report = report(o.as(CanaryReportOptions.class));
    CanaryQueries queries = new CanaryQueries(TableOptions.tableNames(o));
    Database db = DatabaseOptions.database(o);
    ModelLoader candidate = CanaryOptions.candidateOf(o, o);
    List<String> job = CanaryArguments.reembeddingJob(args, candidate);
    Map<String, Object> decision = new LinkedHashMap<>(report.toMap());
    boolean forced = !report.verdict().pass() && o.getForce();
    decision.put("decision", report.verdict().pass() ? "promoted" : forced ? "promoted (forced)" : "refused");
    JobQueue queue = new JobQueue(db);
    if (!report.verdict().pass() && !forced) {
      long id = queue.recordRefused(o.getQueue(), job, decision,
          "canary gate refused " + candidate.model() + ": " + String.join("; ", report.verdict().reasons()));
      System.out.printf("promote refused: the canary gate said no (%s). Nothing was copied; the decision is job %d"
          + " (cancelled) on queue '%s'. Pass --force to switch anyway.%n",
          String.join("; ", report.verdict().reasons()), id, o.getQueue());
      return new Promotion(id, false, false, report);
    }
    int copied;
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      copied = s.executeUpdate(queries.promoteStatement());
    }
    long id = queue.enqueue(o.getQueue(), job, 1 + o.getRetries(), decision);
    System.out.printf(
        "promoted %s%s: %d canary vectors copied into %s; job %d on queue '%s' re-embeds the rest. Run with %s"
            + " from now on.%n", candidate.model(), forced ? " (forced past the gate)" : "", copied,
        queries.current().target(), id, o.getQueue(), String.join(" ", CanaryArguments.modelArgs(candidate)));
    return new Promotion(id, true, forced, report);
  }
}
