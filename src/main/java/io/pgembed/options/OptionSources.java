package io.pgembed.options;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * Merges the sources of option values, highest first: the command line, the environment, the profile
 * ({@code --profile=NAME} reads {@code pipelines/NAME.properties}), the defaults of the options interface.
 *
 * <pre>{@code
 * EmbeddingPipelineOptions o = OptionSources.parse(args, System.getenv(), EmbeddingPipelineOptions.class);
 * }</pre>
 */
public final class OptionSources {
  /** The seed system's environment variables and the options they set. */
  static final Map<String, String> ENVIRONMENT = new LinkedHashMap<>();

  static {
    // In order: a later variable for the same option wins (EMBEDDING_TIMEOUT_MS over PGFLOW_TIMEOUT_MS).
    ENVIRONMENT.put("PGFLOW_QUEUE_NAME", "queue");
    ENVIRONMENT.put("PGFLOW_CONCURRENCY", "concurrency");
    ENVIRONMENT.put("PGFLOW_RETRIES", "retries");
    ENVIRONMENT.put("PGFLOW_TIMEOUT_MS", "timeout");
    ENVIRONMENT.put("EMBEDDING_TRAINING_CANARY_PERCENT", "canaryPercent");
    ENVIRONMENT.put("EMBEDDING_DEVICE", "device");
    ENVIRONMENT.put("EMBEDDING_WORKERS", "workers");
    ENVIRONMENT.put("EMBEDDING_BATCH_SIZE", "batchSize");
    ENVIRONMENT.put("EMBEDDING_TIMEOUT_MS", "timeout");
  }

  private OptionSources() {}

  public static <T extends PipelineOptions> T parse(String[] args, Map<String, String> env, Class<T> type) {
    Map<String, String> merged = new LinkedHashMap<>();
    Map<String, String> commandLine = new LinkedHashMap<>();
    List<String> passThrough = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--") && a.contains("=")) {
        commandLine.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
      } else {
        passThrough.add(a); // boolean flags (--verbose), --help: Beam parses them
      }
    }
    String profile = commandLine.get("profile");
    if (profile != null) {
      merged.putAll(readProfile(profile));
    }
    for (Map.Entry<String, String> e : ENVIRONMENT.entrySet()) {
      String v = env.get(e.getKey());
      if (v != null && !v.isBlank() && hasProperty(type, e.getValue())) {
        merged.put(e.getValue(), v.trim());
      }
    }
    merged.putAll(commandLine);
    List<String> finalArgs = new ArrayList<>();
    merged.forEach((k, v) -> finalArgs.add("--" + k + "=" + v));
    finalArgs.addAll(passThrough);
    PipelineOptionsFactory.register(type);
    T options = PipelineOptionsFactory.fromArgs(finalArgs.toArray(new String[0])).withValidation().as(type);
    if (options instanceof ModelOptions m) {
      directRunnerDefaults(m, merged.keySet());
    }
    FlinkSettings.applyDefaults(
        options, merged.keySet(), options instanceof EmbeddingPipelineOptions e && Boolean.TRUE.equals(e.getContinuous()));
    return options;
  }

  /**
   * DirectRunner settings for an embedding job, unless given: its immutability and encodability checks (debugging
   * aids that encode every element again at every step) off, and as many threads as --workers, since at most that
   * many forward passes run at once and more threads only compete with them for the CPU. Measured on 1000 texts
   * (2 cores): 41 -> 48-54 rows/s. TestPipeline keeps its own options, so tests still run with the checks.
   */
  private static void directRunnerDefaults(ModelOptions m, java.util.Set<String> given) {
    DirectOptions direct = m.as(DirectOptions.class);
    if (!given.contains("enforceImmutability")) {
      direct.setEnforceImmutability(false);
    }
    if (!given.contains("enforceEncodability")) {
      direct.setEnforceEncodability(false);
    }
    if (!given.contains("targetParallelism")) {
      direct.setTargetParallelism(Math.max(1, m.getWorkers()));
    }
  }

  /** {@code args} without the {@code --name=value} (or {@code --name}) flags whose name is in {@code names}. */
  public static List<String> without(String[] args, java.util.Collection<String> names) {
    List<String> out = new ArrayList<>();
    for (String a : args) {
      String name = a.startsWith("--") ? a.substring(2).split("=", 2)[0] : a;
      if (!names.contains(name)) {
        out.add(a);
      }
    }
    return out;
  }

  private static boolean hasProperty(Class<?> type, String property) {
    String getter = "get" + Character.toUpperCase(property.charAt(0)) + property.substring(1);
    try {
      type.getMethod(getter);
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /** {@code NAME} means {@code pipelines/NAME.properties}; anything with a slash or .properties is a path. */
  static Map<String, String> readProfile(String profile) {
    Path path =
        profile.contains("/") || profile.endsWith(".properties")
            ? Path.of(profile)
            : Path.of("pipelines", profile + ".properties");
    if (!Files.isReadable(path)) {
      throw new IllegalArgumentException(
          "--profile=" + profile + ": " + path.toAbsolutePath() + " does not exist; profiles live in pipelines/"
              + " (cpu, cuda-12gb, cuda-24gb) or give a path to a .properties file");
    }
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(path)) {
      p.load(in);
    } catch (IOException e) {
      throw new IllegalArgumentException("--profile=" + profile + ": cannot read " + path + ": " + e.getMessage());
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String k : p.stringPropertyNames()) {
      if (k.equals("password")) {
        throw new IllegalArgumentException(
            "--profile=" + profile + " sets 'password': passwords never go in profiles; use PGPASSWORD,"
                + " --passwordFile or ~/.pgpass");
      }
      out.put(k, p.getProperty(k).trim());
    }
    return out;
  }
}
