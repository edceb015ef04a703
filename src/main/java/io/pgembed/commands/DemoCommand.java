package io.pgembed.commands;

import io.pgembed.model.Chunking;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.TableOptions;
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
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code demo}: starts an embedded PostgreSQL (zonky; as root it runs the server as an unprivileged user), loads
 * this project's own sources and docs as artifacts (one row per file, most of them far longer than the model's 256
 * tokens), embeds them with the real pipeline in token-exact chunks ({@code --chunking=tokens}), then runs
 * semantic searches and prints the best chunk of each of the top files. Needs no database of your own.
 */
public final class DemoCommand {
  static final List<String> QUERIES =
      List.of(
          "how is the database password kept out of logs and options?",
          "split a failing batch in halves so one bad row cannot fail the others",
          "read the weights from the ONNX file without an ONNX library");

  private DemoCommand() {}

  public static int run(DemoOptions o, Path projectRoot) throws Exception {
    List<String[]> files = corpus(projectRoot);
    if (files.isEmpty()) {
      throw new BadInputException(
          "demo loads this project's sources as its corpus: start it with runners/direct.sh (from any directory),"
              + " or from the project's root (no src/ or README.md in " + projectRoot.toAbsolutePath() + ")");
    }
    System.out.printf("Starting an embedded PostgreSQL and loading %d of this project's files ...%n", files.size());
    try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
      String url = pg.getJdbcUrl("postgres", "postgres");
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE artifacts (id bigserial PRIMARY KEY, path text NOT NULL, content text)");
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts (path, content) VALUES (?, ?)")) {
          for (String[] file : files) {
            ps.setString(1, file[0]);
            ps.setString(2, file[1]);
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
      o.setJdbcUrl(url);
      o.setSourceTable("artifacts");
      o.setChunking(Chunking.TOKENS); // the files are documents, most of them far longer than the model's limit
      RunReport report = EmbeddingPipeline.run(o);
      if (report.status() != RunStatus.COMPLETE) {
        return RunCommand.exitCode(report);
      }
      if (report.metrics().chunks() > 0) {
        System.out.printf("%nChunked %d files into %d chunks (%.1f per file; %d of %d tokens covered), one vector"
            + " each, in %s.%n", report.metrics().documents(), report.metrics().chunks(),
            report.meanChunksPerDocument(), report.metrics().coveredTokens(), report.metrics().sourceTokens(),
            TableOptions.tableNames(o).target());
      }
      List<String> queries = o.getQuery() == null ? QUERIES : List.of(o.getQuery());
      Map<String, String> paths = new HashMap<>();
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id::text, path FROM artifacts")) {
        while (rs.next()) {
          paths.put(rs.getString(1), rs.getString(2));
        }
      }
      try (EmbeddingModel model = ModelOptions.loaderOf(o).load();
          EmbeddingPredictor p = model.newPredictor()) {
        for (String q : queries) {
          System.out.println();
          SearchCommand.print(q, SearchCommand.search(o, p.embedTexts(List.of(q))[0],
              model.fingerprint().toString()), h -> paths.get(h.id()));
        }
      }
      return RunCommand.exitCode(report);
    }
  }

  /**
   * (path, text) of README.md and the sources of three packages (the database, the embedding step and the model):
   * whole files, as documents; a few hundred chunks, so that a first run shows its searches within about a minute.
   */
  static List<String[]> corpus(Path root) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String dir : new String[] {"README.md", "src/main/java/io/pgembed/db", "src/main/java/io/pgembed/embed",
        "src/main/java/io/pgembed/model"}) {
      Path p = root.resolve(dir);
      if (Files.isRegularFile(p)) {
        files.add(p);
      } else if (Files.isDirectory(p)) {
        try (Stream<Path> walk = Files.walk(p)) {
          walk.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
      }
    }
    List<String[]> texts = new ArrayList<>();
    for (Path f : files) {
      String text;
      try {
        text = Files.readString(f, StandardCharsets.UTF_8);
      } catch (MalformedInputException e) {
        continue; // not text
      }
      if (!text.isBlank()) {
        texts.add(new String[] {root.relativize(f).toString(), text});
      }
    }
    return texts;
  }
}
