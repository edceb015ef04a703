package io.pgembed.commands;

import io.pgembed.model.Cosine;
import io.pgembed.options.CanaryOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * The canary's quality gate, pure: from the two models' vectors of the same rows, the probes' query vectors and the
 * candidate's failures, it measures top-10 neighbour overlap and cosine drift and judges them against the
 * thresholds of {@link CanaryOptions}. No database, no model: {@link CanaryCommands} reads and embeds.
 *
 * <pre>{@code
 * CanaryGate.Report r = CanaryGate.measure(options, current, candidate, probesCurrent, probesCandidate, false,
 *     new CanaryGate.Attempts(47, 0), currentFingerprint, candidateFingerprint);
 * }</pre>
 */
public final class CanaryGate {
  private CanaryGate() {}

  /** The candidate's canary rows: those it tried (vectors and failure records), and those it failed. */
  public record Attempts(long attempted, long failed) {}

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

  /**
   * Measures and judges: {@code current} and {@code candidate} are the two models' vectors of the same rows (in
   * one order); {@code probesCurrent} and {@code probesCandidate} each probe's query vector by each model;
   * {@code sameWeightsFile}: both models load the same weights (drift is gated only then, and only where the
   * dimensions match).
   */
  public static Report measure(CanaryOptions thresholds, List<float[]> current, List<float[]> candidate,
      float[][] probesCurrent, float[][] probesCandidate, boolean sameWeightsFile, Attempts attempts,
      String currentFingerprint, String candidateFingerprint) {
    if (current.isEmpty() || current.size() != candidate.size()) {
      throw new IllegalArgumentException("the gate needs both models' vectors of the same rows, but got "
          + current.size() + " and " + candidate.size());
    }
    boolean sameDims = current.get(0).length == candidate.get(0).length;
    double[] self = new double[current.size()];
    for (int i = 0; sameDims && i < self.length; i++) {
      self[i] = Cosine.of(current.get(i), candidate.get(i));
    }
    int k = Math.min(10, current.size());
    double sum = 0;
    double min = 1;
    for (int p = 0; p < probesCurrent.length; p++) {
      Set<Integer> a = top(probesCurrent[p], current, k);
      a.retainAll(top(probesCandidate[p], candidate, k));
      double overlap = (double) a.size() / k;
      sum += overlap;
      min = Math.min(min, overlap);
    }
    double meanOverlap = sum / probesCurrent.length;
    double[] sorted = self.clone();
    Arrays.sort(sorted);
    boolean sameWeights = sameWeightsFile && sameDims;
    double meanSelf = sameDims ? Arrays.stream(self).average().orElse(0) : Double.NaN;
    Verdict verdict = verdict(thresholds, current.size(), meanOverlap, sameWeights, meanSelf, attempts.attempted(),
        attempts.failed());
    return new Report(current.size(), probesCurrent.length, meanOverlap, min, meanSelf,
        sameDims ? sorted[0] : Double.NaN, sameDims ? sorted[sorted.length / 2] : Double.NaN, attempts.attempted(),
        attempts.failed(), sameWeights, currentFingerprint, candidateFingerprint, verdict);
  }

  /** The gate: each threshold of {@code o} the measurements miss is a reason to say no. */
  static Verdict verdict(CanaryOptions o, int rows, double meanOverlap, boolean sameWeights, double meanSelfSimilarity,
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

  /** What {@code canary-report} prints for {@code r}, with the thresholds of {@code o}. */
  public static String format(Report r, CanaryOptions o) {
    boolean sameDims = !Double.isNaN(r.meanSelfSimilarity());
    return String.format(
        "canary report: %d rows with both models' vectors, %d probes%n"
            + "  top-%d neighbour overlap: mean %.3f, min %.3f (gate: mean >= %.2f)%n"
            + "  self-similarity (current vs candidate vector of a row): %s%n"
            + "  candidate failures: %d of %d canary rows tried (%.4f; gate: <= %.4f)%n"
            + "  current   %s%n  candidate %s%n"
            + "  verdict: %s%n",
        r.rows(), r.probes(), Math.min(10, r.rows()), r.meanOverlap(), r.minOverlap(), o.getCanaryMinOverlap(),
        sameDims ? String.format("mean %.4f, median %.4f, min %.4f; drift %.4f (%s)", r.meanSelfSimilarity(),
            r.medianSelfSimilarity(), r.minSelfSimilarity(), r.meanDrift(), r.sameWeights()
                ? String.format("same weights, gate: <= %.4f", o.getCanaryMaxDrift())
                : "other weights: not gated") : "n/a (the dimensions differ)",
        r.candidateFailed(), r.candidateAttempted(), r.failureRate(), o.getCanaryMaxFailureRate(),
        r.currentFingerprint(), r.candidateFingerprint(),
        r.verdict().pass() ? "PASS" : "FAIL: " + String.join("; ", r.verdict().reasons()));
  }

  /** The indexes of the {@code k} vectors nearest to {@code query} by cosine. */
  private static Set<Integer> top(float[] query, List<float[]> vectors, int k) {
    return new HashSet<>(
        IntStream.range(0, vectors.size()).boxed()
            .sorted(Comparator.comparingDouble((Integer i) -> -Cosine.of(query, vectors.get(i))))
            .limit(k)
            .toList());
  }
}
