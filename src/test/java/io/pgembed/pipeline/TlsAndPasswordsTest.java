package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.db.Database;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A server that requires TLS and scram-sha-256 for the job's role, with a certificate from a test CA made with
 * openssl: the job runs with {@code sslmode=verify-full} and its password from a file; a wrong CA, a wrong
 * password and no password each fail at start-up with one line and exit 4; no password shows in any output.
 */
public class TlsAndPasswordsTest {
  private static final String PASSWORD = "s3cret-Horse-battery-7";
  private static final TokenHashModel MODEL = TokenHashModel.small();
  private static Path dir;
  private static EmbeddedPostgres pg;

  private static void openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue("openssl " + String.join(" ", args) + ": " + out, p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0);
  }

  @BeforeClass
  public static void startServer() throws Exception {
    dir = Files.createTempDirectory("pg-tls");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=pg-embeddings test CA");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
        "/CN=localhost");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "server.crt", "-days", "2", "-extfile", "san.ext");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days",
        "2", "-subj", "/CN=another CA");
    Files.setPosixFilePermissions(dir.resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    pg = EmbeddedPostgres.builder()
        .setServerConfig("ssl", "on")
        .setServerConfig("ssl_cert_file", dir.resolve("server.crt").toString())
        .setServerConfig("ssl_key_file", dir.resolve("server.key").toString())
        .setServerConfig("password_encryption", "scram-sha-256")
        .setDataDirectoryCustomizer(data -> {
          try {
            // The administrator (postgres) keeps trust, as the test harness needs; the job's role must use TLS and
            // scram-sha-256.
            Files.writeString(data.toPath().resolve("pg_hba.conf"), String.join("\n",
                "local all all trust",
                "host all postgres 127.0.0.1/32 trust",
                "host all postgres ::1/128 trust",
                "hostssl all app 127.0.0.1/32 scram-sha-256",
                "hostssl all app ::1/128 scram-sha-256", ""));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        })
        .start();
    String admin = pg.getJdbcUrl("postgres", "postgres");
    execute(admin, "CREATE ROLE app LOGIN PASSWORD '" + PASSWORD + "'; CREATE TABLE docs (id bigint PRIMARY KEY,"
        + " content text); ALTER TABLE docs OWNER TO app; GRANT CREATE ON SCHEMA public TO app");
    Map<Long, String> rows = new LinkedHashMap<>();
    for (long i = 1; i <= 20; i++) {
      rows.put(i, "row " + i + " over TLS");
    }
    insert(admin, "docs", rows);
    Files.writeString(dir.resolve("password"), PASSWORD + "\n");
    Files.writeString(dir.resolve("wrong-password"), "not-the-password\n");
  }

  @AfterClass
  public static void stopServer() throws Exception {
    if (pg != null) {
      pg.close();
    }
  }

  private static String url(String ca) {
    return "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres?sslmode=verify-full&sslrootcert="
        + dir.resolve(ca);
  }

  @Test
  public void theJobRunsOverVerifiedTlsWithScramAndItsPasswordFromAFile() throws Exception {
    EmbeddingPipelineOptions o = options(url("ca.crt"), "--sourceTable=docs", "--username=app",
        "--passwordFile=" + dir.resolve("password"));
    RunReport r = PipelineTestSupport.runWhole(o, MODEL);
    assertEquals(r.error(), RunStatus.COMPLETE, r.status());
    assertEquals(20, r.embedded());
    Database app = new Database(url("ca.crt"), "app", dir.resolve("password").toString());
    try (Connection c = app.connect();
        ResultSet rs = c.createStatement().executeQuery(
            "SELECT ssl, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      assertTrue(rs.next());
      assertTrue("the session is encrypted", rs.getBoolean(1));
      assertEquals("app", rs.getString(2));
    }
    Map<String, float[]> stored = PipelineTestSupport.vectors(pg.getJdbcUrl("postgres", "postgres"),
        "docs_embeddings");
    assertArrayEquals(MODEL.vectorOf("row 7 over TLS"), stored.get("7"), 0f);
  }

  @Test
  public void aCertificateFromAnotherCaFailsAtStartUpWithOneLine() {
    String[] out = PipelineTestSupport.launch("run", "--jdbcUrl=" + url("other.crt"), "--sourceTable=docs", "--username=app",
        "--passwordFile=" + dir.resolve("password"));
    assertEquals(out[1], "4", out[0]);
    assertEquals(out[1], 1, out[1].strip().lines().count());
    assertThat(out[1], containsString("cannot connect to PostgreSQL at localhost:" + pg.getPort() + "/postgres"));
    assertThat(out[1], containsString("SSL"));
    assertThat(out[2], not(containsString(PASSWORD)));
  }

  @Test
  public void aWrongOrMissingPasswordFailsAtStartUpNamingTheLoginAndNeverShowsAPassword() throws Exception {
    String[] wrong = PipelineTestSupport.launch("run", "--jdbcUrl=" + url("ca.crt"), "--sourceTable=docs", "--username=app",
        "--passwordFile=" + dir.resolve("wrong-password"));
    assertEquals(wrong[1], "4", wrong[0]);
    assertEquals(wrong[1], 1, wrong[1].strip().lines().count());
    assertThat(wrong[1], containsString("refused the login of user app"));
    assertThat(wrong[1], containsString("SQLState 28P01"));
    assertThat(wrong[2], not(containsString("not-the-password")));

    // No password source at all (no --passwordFile, PGPASSWORD or ~/.pgpass entry): the login is refused.
    String[] missing = PipelineTestSupport.launch("run", "--jdbcUrl=" + url("ca.crt"), "--sourceTable=docs", "--username=app");
    assertEquals(missing[1], "4", missing[0]);
    assertThat(missing[1], containsString("refused the login of user app"));

    // An empty password file is bad input, named.
    Path empty = Files.createTempFile(dir, "pgpass", "");
    String[] blank = PipelineTestSupport.launch("run", "--jdbcUrl=" + url("ca.crt"), "--sourceTable=docs", "--username=app",
        "--passwordFile=" + empty);
    assertEquals(blank[1], "2", blank[0]);
    assertEquals("error: --passwordFile=" + empty + " is empty: it must hold the password\n", blank[1]);
  }

  @Test
  public void aWorkerStartedWithAPasswordFileRunsAJobOverTlsWithScram() throws Exception {
    String admin = pg.getJdbcUrl("postgres", "postgres");
    execute(admin, "CREATE TABLE notes (id bigint PRIMARY KEY, content text); ALTER TABLE notes OWNER TO app;"
        + " INSERT INTO notes SELECT i, 'note ' || i || ' kept by a worker' FROM generate_series(1, 12) i");
    // The job names only its table: the worker's URL, user and password file (and pool) are the ones it runs with.
    io.pgembed.options.WorkerOptions o = io.pgembed.options.OptionSources.parse(new String[] {
        "--jdbcUrl=" + url("ca.crt"), "--username=app", "--passwordFile=" + dir.resolve("password"),
        "--maxPoolSize=3", "--device=cpu", "--queue=tls", "--retries=0", "--pollMs=100", "--port=0",
        "--exitWhenIdle=true"}, Map.of(), io.pgembed.options.WorkerOptions.class);
    try (io.pgembed.jobs.JobWorker worker = new io.pgembed.jobs.JobWorker(o, Map.of())) {
      long id = worker.queue().enqueue("tls", List.of("--sourceTable=notes"), 1);
      worker.run();
      io.pgembed.jobs.JobQueue.Job job = worker.queue().recent(50).stream().filter(j -> j.id() == id).findFirst()
          .orElseThrow();
      assertEquals(job.error(), "succeeded", job.status());
    }
    assertEquals("app", PipelineTestSupport.firstValue(admin,
        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE tablename = 'notes_embeddings'"));
    Map<String, float[]> stored = PipelineTestSupport.vectors(admin, "notes_embeddings");
    assertEquals(12, stored.size());
    try (io.pgembed.model.EmbeddingPredictor p = io.pgembed.model.TestModels.bundled().newPredictor()) {
      float[] expected = p.embedTexts(List.of("note 5 kept by a worker"))[0];
      assertArrayEquals(expected, stored.get("5"), 1e-5f);
    }
  }

  @Test
  public void aServerOffTheLoopbackWithoutVerifiedTlsIsWarnedAbout() {
    assertThat(new Database("jdbc:postgresql://db.internal:5432/app", "app", null).tlsWarning(),
        containsString("--jdbcUrl reaches db.internal:5432 with sslmode=prefer (the default): the password and the"
            + " data may cross the network unencrypted"));
    assertThat(new Database("jdbc:postgresql://10.1.2.3/app?sslmode=require", "app", null).tlsWarning(),
        containsString("with sslmode=require"));
    assertEquals(null, new Database("jdbc:postgresql://db.internal/app?sslmode=verify-full", "app", null).tlsWarning());
    assertEquals(null, new Database("jdbc:postgresql://db.internal/app?ssl=true&sslmode=verify-ca", "a", null).tlsWarning());
    assertEquals(null, new Database("jdbc:postgresql://localhost:5432/app", "app", null).tlsWarning());
    assertEquals(null, new Database("jdbc:postgresql://127.0.0.1/app", "app", null).tlsWarning());
  }
}
