package io.pgembed.options;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.junit.Test;

/**
 * The README's "Options reference" and the code agree both ways: every option of every command is in one of its
 * tables with a default, and every option those tables name is a real one (the job's, or Beam's and Flink's).
 */
public class ReadmeOptionsTest {
  private static final List<Class<? extends PipelineOptions>> COMMANDS = List.of(EmbeddingPipelineOptions.class,
      SearchOptions.class, DemoOptions.class, EnqueueOptions.class, QueueAdminOptions.class, WorkerOptions.class,
      ServeOptions.class, EmbedFileOptions.class, CanaryReportOptions.class);

  /** Each option named in the first cell of a table row of the reference, with that row's default cell. */
  private static Map<String, String> documented() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    int start = readme.indexOf("\n## Options reference\n");
    assertTrue("README.md has no '## Options reference' section", start >= 0);
    int end = readme.indexOf("\n## ", start + 5);
    String section = readme.substring(start, end < 0 ? readme.length() : end);
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : section.split("\n")) {
      if (!line.startsWith("| `--")) {
        continue;
      }
      String[] cells = line.split("(?<!\\\\)\\|");
      Matcher m = Pattern.compile("`--([a-zA-Z]+)`").matcher(cells[1]);
      while (m.find()) {
        out.put(m.group(1), cells.length > 2 ? cells[2].strip() : "");
      }
    }
    return out;
  }

  @Test
  public void everyOptionOfEveryCommandIsInTheReferenceWithADefault() throws Exception {
    Map<String, String> documented = documented();
    Set<String> options = new TreeSet<>();
    for (Class<? extends PipelineOptions> c : COMMANDS) {
      options.addAll(OptionSources.ownProperties(c));
    }
    assertTrue("too few options found in the code: " + options, options.size() > 60);
    for (String option : options) {
      assertTrue("--" + option + " is an option of a command but not in README.md's 'Options reference'",
          documented.containsKey(option));
      assertFalse("--" + option + " has no default in README.md's 'Options reference' (write 'none' or"
          + " 'required' where there is none)", documented.get(option).isEmpty());
    }
  }

  @Test
  public void everyOptionInTheReferenceIsARealOne() throws Exception {
    for (String option : documented().keySet()) {
      assertTrue("README.md's 'Options reference' names --" + option + ", which no command has",
          ours(option) || beams(option));
    }
  }

  private static boolean ours(String option) {
    for (Class<? extends PipelineOptions> c : COMMANDS) {
      if (OptionSources.ownProperties(c).contains(option)) {
        return true;
      }
    }
    return false;
  }

  /** An option of Beam's runners (the DirectRunner's, Flink's): a getter of FlinkPipelineOptions or its parents. */
  private static boolean beams(String option) {
    String getter = "get" + Character.toUpperCase(option.charAt(0)) + option.substring(1);
    for (Method m : FlinkPipelineOptions.class.getMethods()) {
      if (m.getName().equals(getter) || m.getName().equals("is" + getter.substring(3))) {
        return true;
      }
    }
    return false;
  }
}
