package io.pgembed.commands;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.SqlIdentifier;
import io.pgembed.jobs.JobArguments;
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
import io.pgembed.options.QueueOptions;
import io.pgembed.options.TableOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Canary rollout of a candidate model: {@code run --canaryModel=M --canaryPercent=P} also embeds a deterministic
 * hash-chosen P% of the rows with M into {@code <target>_canary}; {@code canary-report} compares the two models on
 * those rows; {@code promote} copies the candidate's vectors into the target and enqueues the re-embedding of the
 * rest. The current vectors stay until each row's new vector replaces it (upserts), so no row is ever missing.
 */
public final class CanaryCommands {
  /**
   * The comparison {@code canary-report} prints and {@code promote} gates on: rows with both models' vectors, the
   * probes' top-10 neighbour overlap, the cosine between a row's two vectors where the dimensions match (NaN
   * otherwise), the candidate's failures among the canary rows it tried, whether both models share weights (only
   * pooling, normalization or length differ), and the verdict.
   */
  public record Report(
      int rows, int probes, double meanOverlap, double minOverlap, double meanSelfSimilarity, double minSelfSimilarity,
      double medianSelfSimilarity, long candidateAttempted, long candidateFailed, boolean sameWeights,
      String currentFingerprint, String candidateFingerprint, Verdict verdict) {

    /** Mean 1 - cosine between a row's two vectors; NaN where the dimensions differ. */
    public double meanDrift() {
      return 1 - meanSelfSimilarity;
    }

    public double failureRate() {
      return candidateAttempted == 0 ? 0 : (double) candidateFailed / candidateAttempted;
    }

    /** The decision as JSON fields, recorded with the promote in the queue table. */
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("verdict", verdict.pass() ? "pass" : "fail");
      m.put("reasons", verdict.reasons());
      m.put("rows", rows);
      m.put("probes", probes);
      m.put("mean_top10_overlap", meanOverlap);
      m.put("min_top10_overlap", minOverlap);
      m.put("mean_cosine_drift", Double.isNaN(meanSelfSimilarity) ? null : meanDrift());
      m.put("drift_gated", sameWeights);
      m.put("candidate_attempted", candidateAttempted);
      m.put("candidate_failed", candidateFailed);
      m.put("failure_rate", failureRate());
      m.put("current", currentFingerprint);
      m.put("candidate", candidateFingerprint);
      return m;
    }
  }

  /** Pass, or fail with each threshold the candidate missed, named with its option and value. */
  public record Verdict(boolean pass, List<String> reasons) {}

  /** Options of the rollout itself, not passed on to the candidate's run or the re-embedding job. */
  private static final Set<String> CANARY_ONLY = OptionSources.ownProperties(CanaryOptions.class, QueueOptions.class);
  /** The main model's spec: the candidate has its own (CanaryOptions), so these are not passed on to it. */
  private static final Set<String> MODEL_SPEC = Set.of("model", "pooling", "normalize", "maxLength");

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
    List<String> a = new ArrayList<>(OptionSources.without(args, union(CANARY_ONLY, MODEL_SPEC)));
    a.add("--targetTable=" + shadowTable(o));
    a.add("--samplePercent=" + o.getCanaryPercent());
    EmbeddingPipelineOptions co = OptionSources.parse(a.toArray(new String[0]), env, EmbeddingPipelineOptions.class);
    // Set after parsing, so that no profile or environment value of the main model reaches the candidate.
    co.setModel(candidate.model());
    co.setPooling(candidate.pooling());
    co.setNormalize(candidate.normalize());
    co.setMaxLength(candidate.maxLength());
    System.out.printf("Canary: %s embeds %d%% of the rows into %s%n", candidate.model(), o.getCanaryPercent(),
        shadowTable(o));
    return EmbeddingPipeline.run(co);
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> u = new HashSet<>(a);
    u.addAll(b);
    return u;
  }

  /**
   * Compares current and candidate on the canary rows: the overlap of each probe's top-10 neighbours (probes: the
   * --query, else the first 20 canary texts), the cosine of each row's two vectors where the dimensions match, the
   * candidate's failure rate; and judges them against the gate's thresholds.
   */
  public static Report report(CanaryReportOptions o) throws Exception {
    if (o.getCanaryModel() == null) {
      throw new BadInputException("canary-report needs --canaryModel (the candidate) besides the run's options");
    }
    ModelLoader currentLoader = ModelOptions.loaderOf(o);
    ModelLoader candidateLoader = CanaryOptions.candidateOf(o, o);
    EmbeddingTables tables = EmbeddingTables.of(TableOptions.tableNames(o));
    try (EmbeddingModel current = currentLoader.load();
        EmbeddingModel candidate = candidateLoader.load();
        EmbeddingPredictor pc = current.newPredictor();
        EmbeddingPredictor pn = candidate.newPredictor();
        Connection c = DatabaseOptions.database(o).connectReadOnly()) {
      String currentFp = current.fingerprint().toString();
      String candidateFp = candidate.fingerprint().toString();
      List<float[]> cur = new ArrayList<>();
      List<float[]> cand = new ArrayList<>();
      List<String> texts = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(tables.canaryComparisonQuery(tables.canary(), currentFp, candidateFp))) {
        while (rs.next()) {
          cur.add(SearchCommand.parseVector(rs.getString(2)));
          cand.add(SearchCommand.parseVector(rs.getString(3)));
          texts.add(rs.getString(4));
        }
      }
      if (cur.isEmpty()) {
        throw new BadInputException("no canary rows have vectors of both models (current " + currentFp
            + ", candidate " + candidateFp + "): run with the same --canaryModel and --canary* options first");
      }
      long[] attempts = candidateAttempts(c, tables, candidateFp);
      double[] self = new double[cur.size()];
      boolean sameDims = cur.get(0).length == cand.get(0).length;
      for (int i = 0; sameDims && i < self.length; i++) {
        self[i] = SearchCommand.cosine(cur.get(i), cand.get(i));
      }
      List<String> probes = o.getQuery() != null
          ? List.of(o.getQuery())
          : texts.subList(0, Math.min(20, texts.size()));
      float[][] qc = pc.embedTexts(probes);
      float[][] qn = pn.embedTexts(probes);
      int k = Math.min(10, cur.size());
      double sum = 0;
      double min = 1;
      for (int p = 0; p < probes.size(); p++) {
        Set<Integer> a = top(qc[p], cur, k);
        Set<Integer> b = top(qn[p], cand, k);
        a.retainAll(b);
        double overlap = (double) a.size() / k;
        sum += overlap;
        min = Math.min(min, overlap);
      }
      double[] sorted = self.clone();
      Arrays.sort(sorted);
      boolean sameWeights =
          current.fingerprint().weightsSha256().equals(candidate.fingerprint().weightsSha256()) && sameDims;
      double meanSelf = sameDims ? Arrays.stream(self).average().orElse(0) : Double.NaN;
      Verdict verdict = judge(o, cur.size(), sum / probes.size(), sameWeights, meanSelf, attempts[0], attempts[1]);
      Report r = new Report(
          cur.size(), probes.size(), sum / probes.size(), min, meanSelf,
          sameDims ? sorted[0] : Double.NaN,
          sameDims ? sorted[sorted.length / 2] : Double.NaN, attempts[0], attempts[1], sameWeights, currentFp,
          candidateFp, verdict);
      System.out.printf(
          "canary report: %d rows with both models' vectors, %d probes%n"
              + "  top-%d neighbour overlap: mean %.3f, min %.3f (gate: mean >= %.2f)%n"
              + "  self-similarity (current vs candidate vector of a row): %s%n"
              + "  candidate failures: %d of %d canary rows tried (%.4f; gate: <= %.4f)%n"
              + "  current   %s%n  candidate %s%n"
              + "  verdict: %s%n",
          r.rows(), r.probes(), k, r.meanOverlap(), r.minOverlap(), o.getCanaryMinOverlap(),
          sameDims ? String.format("mean %.4f, median %.4f, min %.4f; drift %.4f (%s)", r.meanSelfSimilarity(),
              r.medianSelfSimilarity(), r.minSelfSimilarity(), r.meanDrift(), sameWeights
                  ? String.format("same weights, gate: <= %.4f", o.getCanaryMaxDrift())
                  : "other weights: not gated") : "n/a (the dimensions differ)",
          r.candidateFailed(), r.candidateAttempted(), r.failureRate(), o.getCanaryMaxFailureRate(),
          currentFp, candidateFp,
          verdict.pass() ? "PASS" : "FAIL: " + String.join("; ", verdict.reasons()));
      return r;
    }
  }

  /** The candidate's vectors and failure records among the canary rows: rows it tried, rows it failed. */
  private static long[] candidateAttempts(Connection c, EmbeddingTables tables, String candidateFp)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(tables.canary().attemptsQuery())) {
      ps.setString(1, candidateFp);
      ps.setString(2, candidateFp);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1) + rs.getLong(2), rs.getLong(2)};
      }
    }
  }

  /** The gate: each threshold of {@code o} the measurements miss is a reason to say no. */
  static Verdict judge(CanaryOptions o, int rows, double meanOverlap, boolean sameWeights, double meanSelfSimilarity,
      long attempted, long failed) {
    List<String> reasons = new ArrayList<>();
    if (rows < o.getCanaryMinRows()) {
      reasons.add(String.format("only %d canary rows have both vectors, fewer than --canaryMinRows=%d (raise"
          + " --canaryPercent, or run the canary on more rows)", rows, o.getCanaryMinRows()));
    }
    if (meanOverlap < o.getCanaryMinOverlap()) {
      reasons.add(String.format("mean top-10 neighbour overlap %.3f is below --canaryMinOverlap=%s", meanOverlap,
          o.getCanaryMinOverlap()));
    }
    if (sameWeights && 1 - meanSelfSimilarity > o.getCanaryMaxDrift()) {
      reasons.add(String.format("mean cosine drift %.4f is above --canaryMaxDrift=%s", 1 - meanSelfSimilarity,
          o.getCanaryMaxDrift()));
    }
    double rate = attempted == 0 ? 0 : (double) failed / attempted;
    if (rate > o.getCanaryMaxFailureRate()) {
      reasons.add(String.format("the candidate failed %d of %d canary rows (%.4f), above --canaryMaxFailureRate=%s",
          failed, attempted, rate, o.getCanaryMaxFailureRate()));
    }
    return new Verdict(reasons.isEmpty(), List.copyOf(reasons));
  }

  private static Set<Integer> top(float[] query, List<float[]> vectors, int k) {
    return new HashSet<>(
        IntStream.range(0, vectors.size()).boxed()
            .sorted(Comparator.comparingDouble((Integer i) -> -SearchCommand.cosine(query, vectors.get(i))))
            .limit(k)
            .toList());
  }

  /** What {@code promote} did: the job that re-embeds the rest (none when refused), and the gate's report. */
  public record Promotion(Long jobId, boolean promoted, boolean forced, Report report) {}

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
    Report report = report(o.as(CanaryReportOptions.class));
    EmbeddingTables tables = EmbeddingTables.of(TableOptions.tableNames(o));
    Database db = DatabaseOptions.database(o);
    ModelLoader candidate = CanaryOptions.candidateOf(o, o);
    List<String> job = new ArrayList<>(
        JobArguments.fromCommandLine(OptionSources.without(args, union(CANARY_ONLY, MODEL_SPEC))));
    List<String> candidateSpec = modelArgs(candidate);
    job.addAll(candidateSpec);
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
      copied = s.executeUpdate(tables.promoteStatement(tables.canary()));
    }
    long id = queue.enqueue(o.getQueue(), job, 1 + o.getRetries(), decision);
    System.out.printf(
        "promoted %s%s: %d canary vectors copied into %s; job %d on queue '%s' re-embeds the rest. Run with %s"
            + " from now on.%n", candidate.model(), forced ? " (forced past the gate)" : "", copied,
        tables.names().target(), id, o.getQueue(), String.join(" ", candidateSpec));
    return new Promotion(id, true, forced, report);
  }

  /** The options that name {@code spec}'s model as the main model: --model, and what it sets of the rest. */
  private static List<String> modelArgs(ModelLoader spec) {
    List<String> args = new ArrayList<>(List.of("--model=" + spec.model()));
    if (spec.pooling() != null) {
      args.add("--pooling=" + spec.pooling());
    }
    if (spec.normalize() != null) {
      args.add("--normalize=" + spec.normalize());
    }
    if (spec.maxLength() > 0) {
      args.add("--maxLength=" + spec.maxLength());
    }
    return args;
  }
}
