package io.pgembed.jobs;

import io.pgembed.options.BatchingOptions;
import io.pgembed.options.CanaryOptions;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.QueueOptions;
import io.pgembed.options.TableOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a queued job may say. Whoever can insert into the jobs table is not trusted with the worker's connection:
 * the URL, user, password source and pool size (TLS settings ride in the URL) are always the worker's own, and a
 * job may only name data-plane options (tables and columns, the model spec, batching, chunking, canary, retries and
 * its time limit). A job's {@code --sourceQuery} is SQL run as the worker's role, so it is refused unless the worker
 * was started with {@code --allowJobSourceQuery}; even then it is only ever read in read-only transactions.
 *
 * <pre>{@code
 * List<String> args = JobArguments.check(job.args(), workerOptions, false); // throws RefusedJob
 * args.addAll(JobArguments.connectionOf(workerOptions));
 * }</pre>
 */
public final class JobArguments {
  private static final Logger LOG = LoggerFactory.getLogger(JobArguments.class);
  /** Where the worker connects and as whom: never a job's to choose. */
  public static final Set<String> CONNECTION = OptionSources.ownProperties(DatabaseOptions.class);
  /** The user's SQL: a job may carry it only where the worker allows it. */
  public static final String SOURCE_QUERY = "sourceQuery";
  /** What a job may set: the data plane. */
  static final Set<String> ALLOWED = allowed();

  private JobArguments() {}

  private static Set<String> allowed() {
    Set<String> out = new TreeSet<>(OptionSources.ownProperties(
        TableOptions.class, ModelOptions.class, BatchingOptions.class, CanaryOptions.class));
    // Of RunOptions: retries of failed rows, sampling, the time limit, continuous mode, pruning and change capture
    // (a job may install a change log on a table the worker's role owns, as it may create a target). Not --profile
    // or --reportFile (files on the worker).
    out.addAll(Set.of("maxAttempts", "samplePercent", "timeout", "verbose", "continuous", "pollInterval",
        "pruneDeleted", "pruneInterval", "changeCapture"));
    return Set.copyOf(out);
  }

  /** A job the worker will not run; the message names the options and the fix. */
  public static final class RefusedJob extends IllegalArgumentException {
    RefusedJob(String message) {
      super(message);
    }
  }

  /**
   * A job's parameters from an {@code enqueue} or {@code promote} command line: without the queue's own options
   * and without the connection (that command's, to reach the queue; the worker brings its own), checked.
   */
  public static List<String> fromCommandLine(List<String> args) {
    Set<String> drop = new TreeSet<>(CONNECTION);
    drop.addAll(OptionSources.ownProperties(QueueOptions.class));
    List<String> params = OptionSources.without(args.toArray(new String[0]), drop);
    check(params, null, true);
    return params;
  }

  /**
   * Checks a job's arguments against what the worker allows; returns them without connection options that merely
   * repeat the worker's own (jobs enqueued before this check carried the queue's {@code --jdbcUrl}). {@code worker}
   * null: no worker yet (at enqueue time), so any connection option is refused.
   */
  public static List<String> check(List<String> args, DatabaseOptions worker, boolean allowSourceQuery) {
    List<String> kept = new ArrayList<>();
    List<String> connection = new ArrayList<>();
    List<String> refused = new ArrayList<>();
    for (String arg : args) {
      String name = arg.startsWith("--") ? arg.substring(2).split("=", 2)[0] : null;
      String value = name != null && arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : null;
      if (name != null && CONNECTION.contains(name)) {
        if (worker != null && Objects.equals(value, workerValue(worker, name))) {
          LOG.warn("A job repeats the worker's --{}: ignored (a job's connection is always the worker's; newer"
              + " enqueue commands leave it out)", name);
        } else {
          connection.add("--" + name);
        }
      } else if (name != null && name.equals(SOURCE_QUERY)) {
        if (!allowSourceQuery) {
          throw new RefusedJob("this job names --sourceQuery, SQL that would run as the worker's database role;"
              + " this worker does not run jobs' queries. Start the worker with --allowJobSourceQuery=true if every"
              + " writer of the queue table may run SQL as it (queries are read in read-only transactions), or"
              + " enqueue a job on a --sourceTable (a view works)");
        }
        kept.add(arg);
      } else if (name != null && ALLOWED.contains(name)) {
        kept.add(arg);
      } else {
        refused.add(name == null ? arg : "--" + name);
      }
    }
    if (!connection.isEmpty()) {
      throw new RefusedJob("this job names " + String.join(", ", connection) + ", but a job's database connection"
          + " is always the worker's own (its --jdbcUrl, --username, --passwordFile, --maxPoolSize; TLS settings in"
          + " its URL): remove " + (connection.size() == 1 ? "it" : "them") + " from the job, or run a worker"
          + " started for that database");
    }
    if (!refused.isEmpty()) {
      throw new RefusedJob("a job may not set " + String.join(", ", refused) + ": a job names only data-plane"
          + " options (tables and columns, the model spec, batching, chunking, canary, --maxAttempts,"
          + " --samplePercent, --timeout, continuous mode, pruning and --changeCapture); the rest is the worker's own");
    }
    return kept;
  }

  /** The worker's connection as job arguments: URL, user and password file where given, pool size. */
  public static List<String> connectionOf(DatabaseOptions worker) {
    List<String> out = new ArrayList<>();
    for (String name : CONNECTION) {
      String value = workerValue(worker, name);
      if (value != null) {
        out.add("--" + name + "=" + value);
      }
    }
    return out;
  }

  private static String workerValue(DatabaseOptions worker, String name) {
    Object v = switch (name) {
      case "jdbcUrl" -> worker.getJdbcUrl();
      case "username" -> worker.getUsername();
      case "passwordFile" -> worker.getPasswordFile();
      case "maxPoolSize" -> worker.getMaxPoolSize();
      default -> throw new IllegalStateException("a connection option this class does not know: --" + name
          + " (add it to workerValue)");
    };
    return v == null ? null : v.toString();
  }
}
