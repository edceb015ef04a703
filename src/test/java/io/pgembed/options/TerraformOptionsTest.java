package io.pgembed.options;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * The terraform module's job variables (terraform/job_options.tf) mirror the pipeline options: each is a real
 * option (some_name is --someName), each reaches the job's arguments in main.tf, and its default parses as that
 * option; every option of run is a variable or listed as left out, with why. The infrastructure variables (variables.tf) are none of the options.
 */
public class TerraformOptionsTest {
  private static final Path TERRAFORM = Path.of("terraform");
  private static final Pattern VARIABLE = Pattern.compile("(?m)^variable \"([a-z0-9_]+)\" \\{\\n(.*?)^\\}", Pattern.DOTALL);
  private static final Pattern DEFAULT = Pattern.compile("(?m)^  default\\s*=\\s*(.+)$");

  @Test
  public void everyJobVariableIsARealPipelineOption() throws Exception {
    Map<String, String> vars = variables("job_options.tf");
    assertTrue("job_options.tf declares too few variables: " + vars.keySet(), vars.size() >= 15);
    for (String name : vars.keySet()) {
      String option = camel(name);
      assertTrue("terraform variable " + name + " has no pipeline option --" + option, getter(option) != null);
    }
  }

  @Test
  public void everyJobVariableReachesTheJobArgumentsUnderItsOptionName() throws Exception {
    Map<String, String> vars = variables("job_options.tf");
    String main = Files.readString(TERRAFORM.resolve("main.tf"));
    Matcher block = Pattern.compile("(?s)  job_options = \\{\\n(.*?)\\n  \\}").matcher(main);
    assertTrue("main.tf has no locals.job_options map", block.find());
    Map<String, String> entries = new LinkedHashMap<>();
    for (String line : block.group(1).split("\n")) {
      String t = line.trim();
      if (t.isEmpty() || t.startsWith("#")) {
        continue;
      }
      String[] kv = t.split("\\s*=\\s*", 2);
      assertEquals("one key per line in job_options: " + t, 2, kv.length);
      assertFalse("job_options sets " + kv[0] + " twice", entries.containsKey(kv[0]));
      entries.put(kv[0], kv[1]);
    }
    List<String> expected = new ArrayList<>();
    vars.keySet().forEach(v -> expected.add(camel(v)));
    assertEquals("job_options keys vs job_options.tf variables", expected, new ArrayList<>(entries.keySet()));
    for (String name : vars.keySet()) {
      String expression = entries.get(camel(name));
      assertTrue(camel(name) + " = " + expression + " does not use var." + name,
          Pattern.compile("\\bvar\\." + name + "\\b").matcher(expression).find());
    }
    assertTrue("main.tf must pass the job's arguments from local.job_options",
        main.contains("[for k, v in local.job_options : \"--${k}=${v}\" if v != null]"));
  }

  @Test
  public void theDefaultsParseAsTheOptionsTheyMirror() throws Exception {
    Map<String, String> vars = variables("job_options.tf");
    List<String> args = new ArrayList<>(List.of("--runner=FlinkRunner"));
    Map<String, String> defaults = new LinkedHashMap<>();
    for (Map.Entry<String, String> v : vars.entrySet()) {
      Matcher d = DEFAULT.matcher(v.getValue());
      String value = d.find() ? d.group(1).trim() : null;
      if (value == null || value.equals("null")) {
        continue;
      }
      value = value.startsWith("\"") ? value.substring(1, value.length() - 1) : value;
      defaults.put(camel(v.getKey()), value);
      args.add("--" + camel(v.getKey()) + "=" + value);
    }
    args.add("--jdbcUrl=jdbc:postgresql://db:5432/app");
    args.add("--sourceTable=documents");
    EmbeddingPipelineOptions o =
        OptionSources.parse(args.toArray(new String[0]), Map.of(), EmbeddingPipelineOptions.class);
    for (Map.Entry<String, String> d : defaults.entrySet()) {
      Method g = getter(d.getKey());
      Object parsed = g.invoke(o.as(g.getDeclaringClass().asSubclass(PipelineOptions.class)));
      assertEquals("--" + d.getKey() + " from the terraform default", d.getValue(), String.valueOf(parsed));
    }
  }

  /**
   * The other way: every option of {@code run} is a job variable, or named in job_options.tf's "Left out:" list with
   * its reason; nothing is in both, and the list names only real options.
   */
  @Test
  public void everyRunOptionIsAJobVariableOrLeftOutWithItsReason() throws Exception {
    Set<String> mirrored = new TreeSet<>();
    variables("job_options.tf").keySet().forEach(v -> mirrored.add(camel(v)));
    String text = Files.readString(TERRAFORM.resolve("job_options.tf"));
    Matcher list = Pattern.compile("(?s)# Left out:\\n(.*?)\\n#\\n").matcher(text);
    assertTrue("job_options.tf has no '# Left out:' list", list.find());
    Set<String> leftOut = new TreeSet<>();
    for (String line : list.group(1).split("\n")) {
      Matcher named = Pattern.compile("--([a-zA-Z]+)").matcher(line.contains(":") ? line.substring(0,
          line.indexOf(':')) : line);
      while (named.find()) {
        leftOut.add(named.group(1));
      }
    }
    Set<String> options = OptionSources.ownProperties(EmbeddingPipelineOptions.class);
    for (String option : leftOut) {
      assertTrue("job_options.tf leaves out --" + option + ", which is not an option of run", options.contains(option));
      assertFalse("--" + option + " is both a variable and left out", mirrored.contains(option));
    }
    for (String option : options) {
      assertTrue("--" + option + " is neither a variable of terraform/job_options.tf nor in its 'Left out:' list"
          + " (add a variable, or list it there with the reason)", mirrored.contains(option)
          || leftOut.contains(option));
    }
  }

  @Test
  public void noInfrastructureVariableShadowsAPipelineOption() throws Exception {
    for (String name : variables("variables.tf").keySet()) {
      if (getter(camel(name)) != null) {
        fail("variables.tf declares " + name + ", which is the pipeline option --" + camel(name)
            + ": declare it in job_options.tf and pass it through local.job_options");
      }
    }
  }

  private static Map<String, String> variables(String file) throws Exception {
    String text = Files.readString(TERRAFORM.resolve(file));
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = VARIABLE.matcher(text);
    while (m.find()) {
      out.put(m.group(1), m.group(2));
    }
    return out;
  }

  static String camel(String snake) {
    StringBuilder sb = new StringBuilder();
    boolean up = false;
    for (char c : snake.toCharArray()) {
      if (c == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return sb.toString();
  }

  /** The option's getter on the job's options or Flink's, or null when there is no such option. */
  private static Method getter(String option) {
    String name = "get" + Character.toUpperCase(option.charAt(0)) + option.substring(1);
    for (Class<?> type : List.of(EmbeddingPipelineOptions.class, FlinkPipelineOptions.class)) {
      try {
        return type.getMethod(name);
      } catch (NoSuchMethodException e) {
        // not this interface
      }
    }
    return null;
  }
}
