package io.pgembed.commands;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.SqlIdentifier;
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
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
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
  /** The comparison {@code canary-report} prints. */
  public record Report(
      int rows, int probes, double meanOverlap, double minOverlap, double meanSelfSimilarity, double minSelfSimilarity,
      double medianSelfSimilarity) {}

  /** Options of the rollout itself, not passed on to the candidate's run or the re-embedding job. */
  private static final Set<String> CANARY_ONLY = OptionSources.ownProperties(CanaryOptions.class, QueueOptions.class);

  private CanaryCommands() {}

  /** {@code <target>_canary}: where the candidate's vectors go. */
  public static SqlIdentifier shadowTable(TableOptions o) {
    return TableOptions.tableNames(o).canary().target();
  }

  /** The candidate's run: the same job with the candidate model, the shadow table and the canary sample. */
  public static RunReport runCanary(String[] args, EmbeddingPipelineOptions o, Map<String, String> env) throws Exception {
    List<String> a = new ArrayList<>(OptionSources.without(args, CANARY_ONLY));
    a.add("--model=" + o.getCanaryModel());
    a.add("--targetTable=" + shadowTable(o));
    a.add("--samplePercent=" + o.getCanaryPercent());
    System.out.printf("Canary: %s embeds %d%% of the rows into %s%n", o.getCanaryModel(), o.getCanaryPercent(), shadowTable(o));
    return EmbeddingPipeline.run(OptionSources.parse(a.toArray(new String[0]), env, EmbeddingPipelineOptions.class));
  }

  /**
   * Compares current and candidate on the canary rows: the overlap of each probe's top-10 neighbours (probes: the
   * --query, else the first 20 canary texts), and the cosine of each row's two vectors where the dimensions match.
   */
  public static Report report(CanaryReportOptions o) throws Exception {
    if (o.getCanaryModel() == null) {
      throw new BadInputException("canary-report needs --canaryModel (the candidate) besides the run's options");
    }
    ModelLoader currentLoader = ModelOptions.loaderOf(o);
    ModelLoader candidateLoader =
        ModelLoader.builder().model(o.getCanaryModel()).device(o.getDevice()).workers(o.getWorkers()).build();
    EmbeddingTables tables = EmbeddingTables.of(TableOptions.tableNames(o));
    try (EmbeddingModel current = currentLoader.load();
        EmbeddingModel candidate = candidateLoader.load();
        EmbeddingPredictor pc = current.newPredictor();
        EmbeddingPredictor pn = candidate.newPredictor();
        Connection c = DatabaseOptions.database(o).connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(tables.canaryComparisonQuery(
            tables.canary(), current.fingerprint().toString(), candidate.fingerprint().toString()))) {
      List<float[]> cur = new ArrayList<>();
      List<float[]> cand = new ArrayList<>();
      List<String> texts = new ArrayList<>();
      while (rs.next()) {
        cur.add(SearchCommand.parseVector(rs.getString(2)));
        cand.add(SearchCommand.parseVector(rs.getString(3)));
        texts.add(rs.getString(4));
      }
      if (cur.isEmpty()) {
        throw new BadInputException(
            "no canary rows have vectors of both models: run with --canaryModel=" + o.getCanaryModel() + " first");
      }
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
      Report r = new Report(
          cur.size(), probes.size(), sum / probes.size(), min,
          sameDims ? Arrays.stream(self).average().orElse(0) : Double.NaN,
          sameDims ? sorted[0] : Double.NaN,
          sameDims ? sorted[sorted.length / 2] : Double.NaN);
      System.out.printf(
          "canary report: %d rows with both models' vectors, %d probes%n"
              + "  top-%d neighbour overlap: mean %.3f, min %.3f%n"
              + "  self-similarity (current vs candidate vector of a row): %s%n"
              + "  current   %s%n  candidate %s%n",
          r.rows(), r.probes(), k, r.meanOverlap(), r.minOverlap(),
          sameDims ? String.format("mean %.4f, median %.4f, min %.4f", r.meanSelfSimilarity(),
              r.medianSelfSimilarity(), r.minSelfSimilarity()) : "n/a (the dimensions differ)",
          current.fingerprint(), candidate.fingerprint());
      return r;
    }
  }

  private static Set<Integer> top(float[] query, List<float[]> vectors, int k) {
    return new HashSet<>(
        IntStream.range(0, vectors.size()).boxed()
            .sorted(Comparator.comparingDouble((Integer i) -> -SearchCommand.cosine(query, vectors.get(i))))
            .limit(k)
            .toList());
  }

  /**
   * Copies the candidate's canary vectors into the target (upserts: the rows keep a vector throughout) and
   * enqueues the re-embedding of every other row with the candidate. Returns the job's id.
   */
  public static long promote(String[] args, EnqueueOptions o) throws Exception {
    if (o.getCanaryModel() == null) {
      throw new BadInputException("promote needs --canaryModel (the candidate to switch to)");
    }
    EmbeddingTables tables = EmbeddingTables.of(TableOptions.tableNames(o));
    Database db = DatabaseOptions.database(o);
    int copied;
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      copied = s.executeUpdate(tables.promoteStatement(tables.canary()));
    }
    List<String> job = new ArrayList<>();
    for (String arg : OptionSources.without(args, CANARY_ONLY)) {
      if (!arg.startsWith("--model=") && !arg.startsWith("--jdbcUrl=")) {
        job.add(arg);
      }
    }
    job.add("--model=" + o.getCanaryModel());
    job.add("--jdbcUrl=" + o.getJdbcUrl());
    long id = new JobQueue(db).enqueue(o.getQueue(), job, 1 + o.getRetries());
    System.out.printf(
        "promoted %s: %d canary vectors copied into %s; job %d on queue '%s' re-embeds the rest. Run with --model=%s"
            + " from now on.%n", o.getCanaryModel(), copied, tables.names().target(), id, o.getQueue(),
        o.getCanaryModel());
    return id;
  }
}
