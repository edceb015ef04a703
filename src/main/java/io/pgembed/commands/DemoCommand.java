package io.pgembed.commands;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.DemoOptions;
import io.pgembed.pipeline.EmbeddingPipeline;
import io.pgembed.pipeline.RunReport;
import io.pgembed.pipeline.RunStatus;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.charset.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code demo}: starts an embedded PostgreSQL (zonky; as root it runs the server as an unprivileged user), loads
 * this project's own sources and docs as artifacts, embeds them with the real pipeline, then runs semantic
 * searches and prints the top hits. Needs no database of your own.
 */
public final class DemoCommand {
  static final List<String> QUERIES =
      List.of(
          "how is the database password kept out of logs and options?",
          "split a failing batch in halves so one bad row cannot fail the others",
          "read the weights from the ONNX file without an ONNX library");
  private static final int LINES_PER_CHUNK = 12; // about 256 tokens of Java

  private DemoCommand() {}

  public static int run(DemoOptions o, Path projectRoot) throws Exception {
    List<String[]> chunks = corpus(projectRoot);
    if (chunks.isEmpty()) {
      throw new BadInputException(
          "demo loads this project's sources as its corpus: run it from the project root (no src/ or README.md in "
              + projectRoot.toAbsolutePath() + ")");
    }
    System.out.printf("Starting an embedded PostgreSQL and loading %d chunks of this project's files ...%n", chunks.size());
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE artifacts (id bigserial PRIMARY KEY, path text NOT NULL, content text)");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts (path, content) VALUES (?, ?)")) {
          for (String[] chunk : chunks) {
            ps.setString(1, chunk[0]);
            ps.setString(2, chunk[1]);
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
      o.setJdbcUrl(url);
      o.setSourceTable("artifacts");
      RunReport report = EmbeddingPipeline.run(o);
      if (report.status() != RunStatus.COMPLETE) {
        return RunCommand.exitCode(report);
      }
      List<String> queries = o.getQuery() == null ? QUERIES : List.of(o.getQuery());
      // The demo's rows are file chunks: search a view whose text starts with the chunk's path.
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE VIEW artifact_hits AS SELECT id, '[' || path || '] ' || content AS content FROM artifacts");
      }
      o.setSourceQuery("SELECT id, content FROM artifact_hits");
      o.setTargetTable("artifacts_embeddings");
      try (EmbeddingModel model = ModelOptions.loaderOf(o).load();
          EmbeddingPredictor p = model.newPredictor()) {
        for (String q : queries) {
          o.setQuery(q);
          System.out.println();
          SearchCommand.run(o, model, p);
        }
      }
      return RunCommand.exitCode(report);
    }
  }

  /** (path:line, text) chunks of README.md, pipelines/, runners/ and src/main. */
  static List<String[]> corpus(Path root) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String dir : new String[] {"README.md", "pipelines", "runners", "src/main"}) {
      Path p = root.resolve(dir);
      if (Files.isRegularFile(p)) {
        files.add(p);
      } else if (Files.isDirectory(p)) {
        try (Stream<Path> walk = Files.walk(p)) {
          walk.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
      }
    }
    List<String[]> chunks = new ArrayList<>();
    for (Path f : files) {
      List<String> lines;
      try {
        lines = Files.readAllLines(f, StandardCharsets.UTF_8);
      } catch (MalformedInputException e) {
        continue; // not text
      }
      for (int start = 0; start < lines.size(); start += LINES_PER_CHUNK) {
        String text = String.join("\n", lines.subList(start, Math.min(lines.size(), start + LINES_PER_CHUNK)));
        if (!text.isBlank()) {
          chunks.add(new String[] {root.relativize(f) + ":" + (start + 1), text});
        }
      }
    }
    return chunks;
  }
}
