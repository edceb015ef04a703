package io.pgembed.commands;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.SearchOptions;
import io.pgembed.options.TableOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * {@code search --query=... --top=K}: embeds the query with the same model and prints the K stored rows nearest by
 * cosine, with the start of their text. Only vectors of the current model fingerprint are compared. Vectors are
 * streamed through a cursor, so memory stays flat however large the table.
 */
public final class SearchCommand {
  /** One result. */
  public record Hit(String id, double score, String text) {}

  private SearchCommand() {}

  public static List<Hit> run(SearchOptions o) throws SQLException {
    try (EmbeddingModel model = ModelOptions.loaderOf(o).load();
        EmbeddingPredictor p = model.newPredictor()) {
      return run(o, model, p);
    }
  }

  /** Searches with a model already loaded, and prints the hits. */
  public static List<Hit> run(SearchOptions o, EmbeddingModel model, EmbeddingPredictor p) throws SQLException {
    if (o.getQuery() == null || o.getQuery().isBlank()) {
      throw new BadInputException("--query is required, e.g. --query=\"how are passwords handled\"");
    }
    List<Hit> hits = search(o, p.embedTexts(List.of(o.getQuery()))[0], model.fingerprint().toString());
    System.out.printf("Top %d for \"%s\":%n", hits.size(), o.getQuery());
    for (int i = 0; i < hits.size(); i++) {
      Hit h = hits.get(i);
      System.out.printf("%2d. %.4f  %s  %s%n", i + 1, h.score(), h.id(), snippet(h.text()));
    }
    return hits;
  }

  static List<Hit> search(SearchOptions o, float[] query, String fingerprint) throws SQLException {
    if (o.getTop() < 1) {
      throw new BadInputException("--top must be >= 1, but was " + o.getTop());
    }
    Database db = DatabaseOptions.database(o);
    String sql = EmbeddingTables.of(TableOptions.tableNames(o)).searchQuery(fingerprint);
    PriorityQueue<Hit> best = new PriorityQueue<>(Comparator.comparingDouble(Hit::score));
    try (Connection c = db.connect()) {
      c.setAutoCommit(false); // a cursor, not the whole table in memory
      try (Statement s = c.createStatement()) {
        s.setFetchSize(1000);
        try (ResultSet rs = s.executeQuery(sql)) {
          while (rs.next()) {
            double score = cosine(query, parseVector(rs.getString(2)));
            if (best.size() < o.getTop() || score > best.peek().score()) {
              best.add(new Hit(rs.getString(1), score, rs.getString(3)));
              if (best.size() > o.getTop()) {
                best.poll();
              }
            }
          }
        }
      }
      c.commit();
    }
    List<Hit> out = new ArrayList<>(best);
    out.sort(Comparator.comparingDouble(Hit::score).reversed());
    return out;
  }

  /** Parses {@code {1,2}} (real[]) or {@code [1,2]} (pgvector). */
  static float[] parseVector(String literal) {
    String body = literal.substring(1, literal.length() - 1);
    String[] parts = body.split(",");
    float[] v = new float[parts.length];
    for (int i = 0; i < v.length; i++) {
      v[i] = Float.parseFloat(parts[i]);
    }
    return v;
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
  }

  static String snippet(String text) {
    String one = text == null ? "" : text.replaceAll("\\s+", " ").strip();
    return one.length() > 100 ? one.substring(0, 100) + "…" : one;
  }
}
