package io.pgembed.commands;

import io.pgembed.db.Database;
import io.pgembed.db.TableNames;
import io.pgembed.model.ModelSpec;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.ServeOptions;
import io.pgembed.options.TableOptions;
import io.pgembed.serve.EmbeddingServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code serve --port=8080}: embeds an application's queries over HTTP with the model spec the job uses (OpenAI's
 * {@code /v1/embeddings}, TEI's {@code /embed} and {@code /info}), and with {@code --jdbcUrl} and
 * {@code --sourceTable} searches the table ({@code /search}). SIGTERM (or Ctrl-C) stops it gracefully: it stops
 * accepting, answers what is in flight, and exits 0.
 *
 * <pre>{@code
 * runners/direct.sh serve --port=8080 --jdbcUrl=jdbc:postgresql://db/app --sourceTable=artifacts
 * }</pre>
 */
public final class ServeCommand {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  private ServeCommand() {}

  /** The server's settings from the options; the key is read from --apiKeyFile (never printed). */
  public static EmbeddingServer.Settings settings(ServeOptions o) throws java.io.IOException {
    positive("--maxInputs", o.getMaxInputs());
    positive("--maxBodyBytes", o.getMaxBodyBytes());
    positive("--maxQueuedInputs", o.getMaxQueuedInputs());
    positive("--httpThreads", o.getHttpThreads());
    if (o.getMaxWaitMs() < 0 || o.getDrainSeconds() < 0 || o.getPort() < 0 || o.getPort() > 65535) {
      throw new BadInputException("--maxWaitMs and --drainSeconds must be >= 0 and --port from 0 to 65535");
    }
    byte[] key = null;
    if (o.getApiKeyFile() != null) {
      Path p = Path.of(o.getApiKeyFile());
      if (!Files.isReadable(p)) {
        throw new BadInputException("--apiKeyFile=" + p + " does not exist or cannot be read");
      }
      String k = Files.readString(p, StandardCharsets.UTF_8).strip();
      if (k.isEmpty()) {
        throw new BadInputException("--apiKeyFile=" + p + " is empty: put the key on its first line");
      }
      key = k.getBytes(StandardCharsets.UTF_8);
    }
    return new EmbeddingServer.Settings(o.getBind(), o.getPort(), key, o.getMaxInputs(), o.getMaxBodyBytes(),
        o.getMaxQueuedInputs(), o.getMaxWaitMs(), o.getHttpThreads(), o.getBatchSize(), o.getMaxBatchTokens(),
        o.getDrainSeconds(), o.getTextSearchConfig());
  }

  private static void positive(String name, Integer v) {
    if (v == null || v < 1) {
      throw new BadInputException(name + " must be >= 1, but was " + v);
    }
  }

  /** Two model threads on a CPU of two or more cores, unless --workers was given (see {@link #run}). */
  public static void defaultWorkers(ServeOptions o, boolean workersGiven) {
    int cores = Runtime.getRuntime().availableProcessors();
    if (!workersGiven && cores >= 2 && !io.pgembed.model.DeviceSpec.resolve(o.getDevice()).isGpu()) {
      o.setWorkers(2);
      LOG.info("serve: two model threads on the CPU (--workers=2, the default of serve on {} cores); --workers=1 gives"
          + " a lone request the lowest latency", cores);
    }
  }

  /** Starts the server with {@code spec} ({@code o}'s database and tables: only with --jdbcUrl). */
  public static EmbeddingServer start(ServeOptions o, ModelSpec spec) throws Exception {
    Database database = null;
    TableNames names = null;
    if (o.getJdbcUrl() != null) {
      if (o.getSourceTable() == null && o.getSourceQuery() == null) {
        throw new BadInputException("serve --jdbcUrl needs --sourceTable (the table whose vectors /search reads)");
      }
      database = DatabaseOptions.database(o);
      names = TableOptions.tableNames(o);
    }
    EmbeddingServer.Settings s = settings(o);
    if (s.apiKey() == null && !o.getBind().equals("127.0.0.1") && !o.getBind().equals("localhost")
        && !o.getBind().equals("::1")) {
      LOG.warn("serve listens on {} with no --apiKeyFile: anyone who can reach it can embed and search", o.getBind());
    }
    return EmbeddingServer.start(s, spec, database, names);
  }

  /**
   * Runs until SIGTERM or SIGINT, then stops gracefully; returns the exit code (0). {@code workersGiven}: whether
   * --workers came from the command line, the environment or a profile; if not, a CPU with two or more cores gets two
   * model threads of cores/2 libtorch threads each (measured on 2 cores at 64 clients: 506 requests/s, 0.84 of the
   * embed command, against 431 and 0.74 with one; one client's p50 14.0 ms against 9.0 ms).
   */
  public static int run(ServeOptions o, boolean workersGiven) throws Exception {
    defaultWorkers(o, workersGiven);
    CountDownLatch stop = new CountDownLatch(1);
    try (EmbeddingServer server = start(o, ModelOptions.loaderOf(o))) {
      for (String signal : new String[] {"TERM", "INT"}) {
        sun.misc.Signal.handle(new sun.misc.Signal(signal), sig -> stop.countDown());
      }
      System.out.println("serve: listening on http://" + o.getBind() + ":" + server.port() + " (loading the model)");
      server.awaitModel();
      System.out.println("serve: ready on http://" + o.getBind() + ":" + server.port());
      stop.await();
      System.out.println("serve: stopping; answering the requests in flight");
    }
    System.out.println("serve: stopped");
    return 0;
  }
}
