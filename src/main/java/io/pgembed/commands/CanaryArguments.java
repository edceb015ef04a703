package io.pgembed.commands;

import io.pgembed.jobs.JobArguments;
import io.pgembed.model.ModelLoader;
import io.pgembed.options.CanaryOptions;
import io.pgembed.options.ModelSpecOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.QueueOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The command lines a canary rollout derives from the user's: the candidate's run (the rollout's own options and
 * the main model's spec left out; the shadow target and the sample added) and the job that re-embeds the rest after
 * a promote (the candidate's spec as the main model's). The option names come from the options interfaces, never
 * written again here.
 */
final class CanaryArguments {
  /** Options of the rollout itself and of the queue, not passed on to the candidate's run or the job. */
  private static final Set<String> ROLLOUT = OptionSources.ownProperties(CanaryOptions.class, QueueOptions.class);
  /** The main model's spec: the candidate has its own, so these are not passed on to it. */
  private static final Set<String> MODEL_SPEC = OptionSources.ownProperties(ModelSpecOptions.class);

  private CanaryArguments() {}

  /** The user's arguments without the rollout's options and the main model's spec. */
  private static List<String> dataPlane(String[] args) {
    Set<String> drop = new TreeSet<>(ROLLOUT);
    drop.addAll(MODEL_SPEC);
    return OptionSources.without(args, drop);
  }

  /** The candidate's run: into {@code shadowTable}, {@code percent}% of the rows. */
  static List<String> candidateRun(String[] args, String shadowTable, int percent) {
    List<String> a = new ArrayList<>(dataPlane(args));
    a.add("--targetTable=" + shadowTable);
    a.add("--samplePercent=" + percent);
    return a;
  }

  /** The re-embedding job after a promote: the user's data-plane options with the candidate's spec as the model's. */
  static List<String> reembeddingJob(String[] args, ModelLoader candidate) {
    List<String> job = new ArrayList<>(JobArguments.fromCommandLine(dataPlane(args)));
    job.addAll(modelArgs(candidate));
    return job;
  }

  /** The options that name {@code spec}'s model as the main model: --model, and what it sets of the rest. */
  static List<String> modelArgs(ModelLoader spec) {
    List<String> args = new ArrayList<>(List.of("--model=" + spec.model()));
    if (spec.pooling() != null) {
      args.add("--pooling=" + spec.pooling().label());
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
