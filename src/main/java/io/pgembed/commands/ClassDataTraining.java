package io.pgembed.commands;

import io.pgembed.pipeline.ExitCode;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToIntFunction;
import java.util.stream.Stream;

/**
 * {@code class-data-training}: the workload that {@code runners/cds-archive.sh} runs once per jar and JVM under
 * {@code -XX:ArchiveClassesAtExit}, so that the archive holds the classes a start of {@code run}, {@code embed} and
 * {@code search} loads (Beam's SDK and DirectRunner, DJL, pgjdbc, the job's own). Each later start maps them
 * ready-parsed instead of reading and verifying some 7,000 classes from the jar: 0.4-0.6 s less from the command to
 * the first forward pass of a run on 2 cores (see README, "Start-up").
 *
 * <p>It runs the commands as a user would, through the launcher's entry point ({@code Main.run}, passed in), on an
 * embedded PostgreSQL (zonky, as the demo) and a temporary directory: a run over 600 short texts in two waves (binary
 * COPY writes), a run of 12 long texts in token chunks, embed of a JSON Lines file and a search. It changes nothing
 * else; its output is the launcher's log.
 */
public final class ClassDataTraining {
  private static final String[] WORDS = ("the job reads pending rows from postgresql embeds their text with the"
      + " bundled model and writes the vectors back as upserts while failures are recorded per row and retried on"
      + " the next run").split(" ");

  private ClassDataTraining() {}

  /** Runs the workload with {@code cli} (Main.run); the exit code is the first command's that failed, else 0. */
  public static int run(ToIntFunction<String[]> cli) throws Exception {
    Path dir = Files.createTempDirectory("pgembed-class-data-training");
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE training (id bigint PRIMARY KEY, content text)");
        s.execute("CREATE TABLE training_documents (id bigint PRIMARY KEY, content text)");
        insert(c, "training", 600, 3, 40);
        insert(c, "training_documents", 12, 300, 600);
      }
      Path input = dir.resolve("texts.jsonl");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        lines.add("{\"id\": " + i + ", \"text\": \"" + text(i, 3, 60) + "\"}");
      }
      Files.write(input, lines);
      String[][] commands = {
        {"run", "--jdbcUrl=" + url, "--sourceTable=training", "--reportFile=" + dir.resolve("report.json")},
        {"run", "--jdbcUrl=" + url, "--sourceTable=training_documents", "--chunking=tokens"},
        {"embed", "--input=" + input, "--output=" + dir.resolve("vectors.jsonl")},
        {"search", "--jdbcUrl=" + url, "--sourceTable=training", "--query=where are failures recorded?"},
      };
      for (String[] command : commands) {
        int code = cli.applyAsInt(command);
        if (code != ExitCode.OK.code()) {
          System.err.println("class-data-training: '" + command[0] + "' exited " + code);
          return code;
        }
      }
      return ExitCode.OK.code();
    } finally {
      deleteTree(dir);
    }
  }

  private static void insert(Connection c, String table, int rows, int minWords, int maxWords) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, content) VALUES (?, ?)")) {
      for (int i = 0; i < rows; i++) {
        ps.setLong(1, i);
        ps.setString(2, text(i, minWords, maxWords));
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** Text {@code i}: between {@code minWords} and {@code maxWords} words, lengths spread over the range. */
  private static String text(int i, int minWords, int maxWords) {
    int n = minWords + (i * 7919) % (maxWords - minWords + 1);
    StringBuilder b = new StringBuilder();
    for (int w = 0; w < n; w++) {
      b.append(w == 0 ? "" : " ").append(WORDS[(i + w * 31) % WORDS.length]);
    }
    return b.toString();
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
