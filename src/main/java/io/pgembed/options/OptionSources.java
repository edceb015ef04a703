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
import java.util.Set;
import java.util.TreeSet;
import java.lang.reflect.Method;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges the sources of option values, highest first: the command line, the environment, the profile
 * ({@code --profile=NAME} reads {@code pipelines/NAME.properties}), the defaults of the options interface.
 *
 * <pre>{@code
 * EmbeddingPipelineOptions o = OptionSources.parse(args, System.getenv(), EmbeddingPipelineOptions.class);
 * }</pre>
 */
public final class OptionSources {
  private static final Logger LOG = LoggerFactory.getLogger(OptionSources.class);
  /** The environment variables that set options (below the command line, above a profile), and those options. */
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
    Set<String> accepted = properties(type);
    Map<String, String> merged = new LinkedHashMap<>();
    Map<String, String> commandLine = new LinkedHashMap<>();
    List<String> passThrough = new ArrayList<>();
    String profile = null;
    for (String a : args) {
      String name = a.startsWith("--") ? a.substring(2).split("=", 2)[0] : null;
      if ("profile".equals(name) && a.contains("=")) {
        // Every command reads the profile; it is an option value only where the command has --profile.
        profile = a.substring(a.indexOf('=') + 1);
        if (accepted.contains(name)) {
          commandLine.put(name, profile);
        }
      } else if (name != null && OURS.contains(name) && !accepted.contains(name)) {
        // An option of another command: accepted before each command parsed only its own options.
        LOG.warn("--{} is not an option of this command and is ignored (deprecated: a later release refuses it)", name);
      } else if (a.startsWith("--") && a.contains("=")) {
        commandLine.put(name, a.substring(a.indexOf('=') + 1));
      } else {
        passThrough.add(a); // boolean flags (--verbose), --help: Beam parses them
      }
    }
    if (profile != null) {
      readProfile(profile).forEach((k, v) -> {
        if (accepted.contains(k) || !OURS.contains(k)) {
          merged.put(k, v); // a profile is shared by the commands: each takes the entries it has
        }
      });
    }
    for (Map.Entry<String, String> e : ENVIRONMENT.entrySet()) {
      String v = env.get(e.getKey());
      if (v != null && !v.isBlank() && accepted.contains(e.getValue())) {
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
        options, merged.keySet(), options instanceof RunOptions r && Boolean.TRUE.equals(r.getContinuous()));
    return options;
  }

  /** The option names (properties) of an options interface, its own and every one it extends, Beam's included. */
  public static Set<String> properties(Class<? extends PipelineOptions> type) {
    Set<String> out = new TreeSet<>();
    for (Method m : type.getMethods()) {
      String p = propertyName(m);
      if (p != null) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * The options these interfaces hold that this project defines (in this package), without Beam's own (runner,
   * job name ...): e.g. the queue's options, which are never passed on to a job.
   */
  @SafeVarargs
  public static Set<String> ownProperties(Class<? extends PipelineOptions>... types) {
    Set<String> out = new TreeSet<>();
    for (Class<? extends PipelineOptions> t : types) {
      for (Method m : t.getMethods()) {
        String p = propertyName(m);
        if (p != null && m.getDeclaringClass().getPackageName().equals(OptionSources.class.getPackageName())) {
          out.add(p);
        }
      }
    }
    return out;
  }

  private static String propertyName(Method m) {
    String n = m.getName();
    if (m.getParameterCount() != 0 || m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
      return null;
    }
    if (n.startsWith("get") && n.length() > 3) {
      return Character.toLowerCase(n.charAt(3)) + n.substring(4);
    }
    if (n.startsWith("is") && n.length() > 2) {
      return Character.toLowerCase(n.charAt(2)) + n.substring(3);
    }
    return null;
  }

  /** The options this project defines, across every command. */
  private static final Set<String> OURS = ownProperties(
      EmbeddingPipelineOptions.class, QueryOptions.class, QueueOptions.class, EmbedFileOptions.class);

  /**
   * DirectRunner settings for an embedding job, unless given: its immutability and encodability checks (debugging
   * aids that encode every element again at every step) off, and as many threads as --workers, since at most that
   * many forward passes run at once and more threads only compete with them for the CPU. Measured on 1000 texts
   * (2 cores): 41 -> 48-54 rows/s. TestPipeline keeps its own options, so tests still run with the checks.
   */
  private static void directRunnerDefaults(ModelOptions m, Set<String> given) {
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

  /**
   * The project's directory: {@code -Dpgembed.home} (the launchers set it to the checkout they run from), else the
   * working directory. Profiles ({@code pipelines/}) and the demo's corpus are found there, whatever directory a
   * launcher is started from.
   */
  public static Path home() {
    String home = System.getProperty("pgembed.home");
    return home == null || home.isBlank() ? Path.of("") : Path.of(home);
  }

  /**
   * A profile by name: {@code pipelines/NAME.properties} in the working directory, else in {@link #home()}; or a
   * path to a .properties file.
   */
  static Map<String, String> readProfile(String profile) {
    boolean byPath = profile.contains("/") || profile.endsWith(".properties");
    Path path = byPath ? Path.of(profile) : Path.of("pipelines", profile + ".properties");
    if (!byPath && !Files.isReadable(path)) {
      path = home().resolve(path);
    }
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
