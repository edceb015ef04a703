package io.pgembed;

import io.pgembed.commands.CanaryCommands;
import io.pgembed.commands.ClassDataTraining;
import io.pgembed.commands.CaptureSqlCommand;
import io.pgembed.commands.DemoCommand;
import io.pgembed.commands.EmbedCommand;
import io.pgembed.commands.QueueCommands;
import io.pgembed.commands.RunCommand;
import io.pgembed.commands.SearchCommand;
import io.pgembed.commands.ServeCommand;
import io.pgembed.options.CanaryReportOptions;
import io.pgembed.options.DemoOptions;
import io.pgembed.options.EmbedFileOptions;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.EnqueueOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.QueueAdminOptions;
import io.pgembed.options.SearchOptions;
import io.pgembed.options.ServeOptions;
import io.pgembed.options.WorkerOptions;
import io.pgembed.db.DatabaseUnavailableException;
import io.pgembed.pipeline.ExitCode;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The launcher's entry point: {@code java -jar pg-embeddings-bundled.jar [COMMAND] [--option=value ...]}. The
 * commands and what each does are in {@link #usage()}; each parses only its own options. Exit codes:
 * {@link ExitCode}.
 */
public final class Main {
  public static final int EXIT_OK = ExitCode.OK.code();
  public static final int EXIT_FAILED = ExitCode.FAILED.code();
  public static final int EXIT_BAD_INPUT = ExitCode.BAD_INPUT.code();
  public static final int EXIT_PARTIAL = ExitCode.PARTIAL.code();

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String[] args) {
    if (args.length == 0) {
      System.out.println(usage());
      return EXIT_OK;
    }
    boolean named = !args[0].startsWith("--");
    String command = named ? args[0] : "run";
    String[] rest = named ? Arrays.copyOfRange(args, 1, args.length) : args;
    try {
      switch (command) {
        case "run" -> {
          EmbeddingPipelineOptions o = OptionSources.parse(rest, System.getenv(), EmbeddingPipelineOptions.class);
          int code = RunCommand.run(o);
          if (code == EXIT_OK && o.getCanaryModel() != null) {
            code = RunCommand.exitCode(CanaryCommands.runCanary(rest, o, System.getenv()));
          }
          return code;
        }
        case "capture-sql" -> {
          CaptureSqlCommand.run(OptionSources.parse(rest, System.getenv(), EmbeddingPipelineOptions.class));
          return EXIT_OK;
        }
        case "canary-report" -> {
          CanaryCommands.report(OptionSources.parse(rest, System.getenv(), CanaryReportOptions.class));
          return EXIT_OK;
        }
        case "promote" -> {
          CanaryCommands.Promotion p =
              CanaryCommands.promote(rest, OptionSources.parse(rest, System.getenv(), EnqueueOptions.class));
          return p.promoted() ? EXIT_OK : ExitCode.CANARY_REFUSED.code();
        }
        case "demo" -> {
          return DemoCommand.run(OptionSources.parse(rest, System.getenv(), DemoOptions.class), OptionSources.home());
        }
        case "search" -> {
          SearchCommand.run(OptionSources.parse(rest, System.getenv(), SearchOptions.class));
          return EXIT_OK;
        }
        case "serve" -> {
          boolean workersGiven = System.getenv("EMBEDDING_WORKERS") != null
              || java.util.Arrays.stream(rest).anyMatch(a -> a.startsWith("--workers") || a.startsWith("--profile"));
          return ServeCommand.run(OptionSources.parse(rest, System.getenv(), ServeOptions.class), workersGiven);
        }
        case "embed" -> {
          EmbedCommand.run(OptionSources.parse(rest, System.getenv(), EmbedFileOptions.class));
          return EXIT_OK;
        }
        case "enqueue" -> {
          QueueCommands.enqueue(rest, OptionSources.parse(rest, System.getenv(), EnqueueOptions.class));
          return EXIT_OK;
        }
        case "status" -> {
          QueueCommands.status(OptionSources.parse(rest, System.getenv(), QueueAdminOptions.class));
          return EXIT_OK;
        }
        case "cancel" -> {
          return QueueCommands.cancel(OptionSources.parse(rest, System.getenv(), QueueAdminOptions.class));
        }
        case "worker" -> {
          return QueueCommands.worker(OptionSources.parse(rest, System.getenv(), WorkerOptions.class), System.getenv());
        }
        case "class-data-training" -> {
          return ClassDataTraining.run(Main::run);
        }
        case "help", "-h" -> {
          System.out.println(usage());
          return EXIT_OK;
        }
        default -> {
          System.err.println("Unknown command '" + command + "'.\n" + usage());
          return EXIT_BAD_INPUT;
        }
      }
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return EXIT_BAD_INPUT;
    } catch (Exception e) {
      var unavailable = DatabaseUnavailableException.in(e);
      if (unavailable.isPresent()) {
        System.err.println("error: " + unavailable.get().getMessage());
        return ExitCode.DATABASE_UNAVAILABLE.code();
      }
      System.err.println("failed: " + e);
      e.printStackTrace(System.err);
      return EXIT_FAILED;
    }
  }

  static String usage() {
    return String.join(
        "\n",
        "usage: runners/direct.sh [COMMAND] [--option=value ...]",
        "commands:",
        "  run     (default) embed the pending rows: --jdbcUrl=jdbc:postgresql://host/db --sourceTable=artifacts",
        "  demo    embedded PostgreSQL + this project's files: embed them, then search",
        "  search  --query=TEXT [--top=5] [--mode=vector|hybrid] plus the run options naming the tables",
        "  serve   [--port=8080] [--jdbcUrl=... --sourceTable=...]: embed queries over HTTP (OpenAI, TEI), search",
        "  embed   --input=IN.jsonl --output=OUT.jsonl: JSON Lines {\"id\", \"text\"} to {\"id\", \"embedding\"}",
        "  enqueue --jdbcUrl=... [--queue=embeddings] --sourceTable=... [pipeline options]: record a job",
        "  status  --jdbcUrl=...: recent jobs and the queue depth",
        "  cancel  --jdbcUrl=... --job=ID",
        "  worker  --jdbcUrl=... [--queue=embeddings] [--concurrency=1] [--retries=3] [--port=8080]: run jobs",
        "  run --canaryModel=M --canaryPercent=P: also embed P% of rows with candidate M into <target>_canary",
        "  canary-report --canaryModel=M [run options]: judge the candidate on the canary rows (top-10 neighbour",
        "          overlap, cosine drift, failure rate, rows) against the gate's thresholds",
        "  promote --canaryModel=M [run options] [--queue=...]: judge, then copy the canary vectors and enqueue the",
        "          rest (refused with exit 5 when the gate says no, unless --force)",
        "  capture-sql --jdbcUrl=... --sourceTable=... [--username=ROLE]: print the change log's DDL for a DBA",
        "  class-data-training  what runners/cds-archive.sh runs once per jar to archive the classes a start loads",
        "  help    this text; 'COMMAND --help' lists a command's options",
        "exit codes: 0 done, 1 failed, 2 bad input or options, 3 partial (stopped at --timeout),",
        "  4 the database unreachable or refusing the login (nothing read), 5 a promotion the canary gate refused");
  }
}
