package io.pgembed.db;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Assume;

/**
 * A real PostgreSQL with real pgvector for tests. The embedded zonky binaries have no headers, so pgvector cannot be
 * built for them; this starts Debian's PostgreSQL 15 (with pgvector installed by {@code runners/install-pgvector.sh})
 * once per test JVM, in a fresh data directory under {@code target/}, on a free loopback port. As root it runs the
 * server as the {@code postgres} user (or {@code nobody}), since PostgreSQL refuses to run as root.
 *
 * <p>Where it looks, in order: {@code PGEMBED_PGVECTOR_URL} (a JDBC URL of a server you run, with pgvector
 * installed and a user that may create databases); else the binaries in {@code PGEMBED_PG_BIN} (default
 * {@code /usr/lib/postgresql/15/bin}). Without either the tests are skipped with a message saying how to get
 * pgvector; with {@code PGEMBED_REQUIRE_PGVECTOR=1} (as {@code .ci/run} sets) they fail instead, so CI never passes
 * by skipping them.
 */
public final class PgVectorServer {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static String adminUrl;
  private static String failure;
  private static Path serverLog;

  private PgVectorServer() {}

  /** A new database with the vector extension created; returns its JDBC URL. Skips (or fails) without pgvector. */
  public static String newDatabase(String prefix) {
    String admin = adminUrl();
    String name = prefix.toLowerCase() + "_" + COUNTER.incrementAndGet() + "_" + ProcessHandle.current().pid();
    try (Connection c = DriverManager.getConnection(admin);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name + " on the pgvector server", e);
    }
    String url = withDatabase(admin, name);
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE EXTENSION IF NOT EXISTS vector");
    } catch (SQLException e) {
      throw new IllegalStateException("CREATE EXTENSION vector failed on the pgvector server", e);
    }
    return url;
  }

  /** The server's log file, when this JVM started the server (null for PGEMBED_PGVECTOR_URL's). */
  public static Path serverLog() {
    adminUrl();
    return serverLog;
  }

  static String withDatabase(String url, String database) {
    int q = url.indexOf('?');
    String base = q < 0 ? url : url.substring(0, q);
    String params = q < 0 ? "" : url.substring(q);
    return base.substring(0, base.lastIndexOf('/') + 1) + database + params;
  }

  private static synchronized String adminUrl() {
    if (adminUrl == null && failure == null) {
      try {
        adminUrl = System.getenv("PGEMBED_PGVECTOR_URL") != null && !System.getenv("PGEMBED_PGVECTOR_URL").isBlank()
            ? System.getenv("PGEMBED_PGVECTOR_URL")
            : start();
      } catch (IOException | InterruptedException | RuntimeException e) {
        failure = e.getMessage();
      }
    }
    if (adminUrl == null) {
      String why = "no PostgreSQL with pgvector: " + failure + ". Install it with runners/install-pgvector.sh (as"
          + " root: Debian's postgresql-15 and postgresql-server-dev-15, then pgvector from runners/vendor/), or set"
          + " PGEMBED_PGVECTOR_URL to a server that has it";
      if ("1".equals(System.getenv("PGEMBED_REQUIRE_PGVECTOR"))) {
        throw new IllegalStateException(why);
      }
      Assume.assumeTrue(why, false);
    }
    return adminUrl;
  }

  private static String start() throws IOException, InterruptedException {
    Path bin = Path.of(System.getenv().getOrDefault("PGEMBED_PG_BIN", "/usr/lib/postgresql/15/bin"));
    if (!Files.isExecutable(bin.resolve("postgres"))) {
      throw new IllegalStateException(bin.resolve("postgres") + " is missing (PGEMBED_PG_BIN)");
    }
    String share = run(List.of(bin.resolve("pg_config").toString(), "--sharedir"), null).strip();
    if (!Files.exists(Path.of(share, "extension", "vector.control"))) {
      throw new IllegalStateException("pgvector is not installed in " + share + "/extension");
    }
    String user = runAs();
    Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "pgvector-");
    Path data = dir.resolve("data");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    if (user != null) {
      run(List.of("chown", user, dir.toString()), null);
    }
    run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "-A", "trust",
        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"), user);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    serverLog = dir.resolve("server.log");
    run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", serverLog.toString(),
        "-w", "-t", "60", "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories="
            + dir + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            + " -c maintenance_work_mem=256MB",
        "start"), user);
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop"), user);
      } catch (IOException | InterruptedException | RuntimeException ignored) {
        // the JVM is exiting
      }
    }));
    return url;
  }

  /** The user to run the server as: none when not root; else postgres (Debian's package makes it) or nobody. */
  private static String runAs() throws IOException, InterruptedException {
    if (!"root".equals(System.getProperty("user.name"))) {
      return null;
    }
    try {
      run(List.of("id", "postgres"), null);
      return "postgres";
    } catch (IllegalStateException e) {
      return "nobody";
    }
  }

  private static String run(List<String> command, String user) throws IOException, InterruptedException {
    List<String> full = new ArrayList<>();
    if (user != null) {
      full.addAll(List.of("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"));
    }
    full.addAll(command);
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + out.strip());
    }
    return out;
  }
}
