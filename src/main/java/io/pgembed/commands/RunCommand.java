package io.pgembed.commands;

import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;

/**
 * {@code run}: one incremental embedding run (or, with --continuous, one that keeps polling); the exit code is the
 * run status's ({@link io.pgembed.pipeline.RunStatus#exitCode()}).
 */
public final class RunCommand {
  private RunCommand() {}

  public static int run(EmbeddingPipelineOptions o) throws Exception {
    return exitCode(EmbeddingPipeline.run(o));
  }

  public static int exitCode(RunReport report) {
    return report.status().exitCode().code();
  }
}
