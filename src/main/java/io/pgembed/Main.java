package io.pgembed;

import io.pgembed.commands.EmbedCommand;
import io.pgembed.options.EmbedFileOptions;
import io.pgembed.options.OptionSources;
import java.util.Arrays;


/**
 * The launcher's entry point: {@code java -jar pg-embeddings-bundled.jar COMMAND [--option=value ...]}.
 *
 * <ul>
 *   <li>{@code embed --input=IN.jsonl --output=OUT.jsonl}: embed JSON Lines with no database.
 * </ul>
 *
 * <p>Exit codes: 0 success, 1 failure, 2 bad input or options.
 */
public final class Main {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILED = 1;
  public static final int EXIT_BAD_INPUT = 2;

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String[] args) {
    String command = args.length > 0 && !args[0].startsWith("--") ? args[0] : "help";
    String[] rest = args.length > 0 && !args[0].startsWith("--") ? Arrays.copyOfRange(args, 1, args.length) : args;
    try {
      switch (command) {
        case "embed" -> {
          EmbedFileOptions options = OptionSources.parse(rest, System.getenv(), EmbedFileOptions.class);
          EmbedCommand.run(options);
          return EXIT_OK;
        }
        case "help", "--help", "-h" -> {
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
      System.err.println("failed: " + e);
      e.printStackTrace(System.err);
      return EXIT_FAILED;
    }
  }

  static String usage() {
    return String.join(
        "\n",
        "usage: runners/direct.sh COMMAND [--option=value ...]",
        "commands:",
        "  embed --input=IN.jsonl --output=OUT.jsonl [--model=...] [--device=cpu|cuda|cuda:N|auto] [--batchSize=N]",
        "        embed JSON Lines {\"id\", \"text\"} into {\"id\", \"embedding\"}, in input order, with no database",
        "  help  this text; 'COMMAND --help' lists a command's options");
  }
}
