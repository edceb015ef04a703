package io.pgembed.commands;

import io.pgembed.Main;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;

/**
 * {@code run}: one incremental embedding run (or, with --continuous, one that keeps polling); exit code 0 complete or
 * stopped, 3 partial (timeout), 1 failed.
 */
public final class RunCommand {
  private RunCommand() {}

  public static int run(EmbeddingPipelineOptions o) throws Exception {
    return exitCode(EmbeddingPipeline.run(o));
  }

  public static int exitCode(RunReport report) {
    return switch (report.status()) {
      case "complete", "stopped" -> Main.EXIT_OK;
      case "partial" -> Main.EXIT_PARTIAL;
      default -> Main.EXIT_FAILED;
    };
  }
}
