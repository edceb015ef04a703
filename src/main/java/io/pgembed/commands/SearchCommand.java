package io.pgembed.commands;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.Catalog;
import io.pgembed.db.SearchQueries;
import io.pgembed.db.VectorType;
import io.pgembed.model.Cosine;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.options.SearchOptions;
import io.pgembed.options.TableOptions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code search --query=... --top=K}: embeds the query with the same model and prints the K stored rows nearest by
 * cosine, with their similarity and the start of their text. Only vectors of the current model fingerprint are
 * compared. On a pgvector target PostgreSQL answers (through its HNSW index when there is one); on real[] the
 * vectors are streamed through a cursor and compared here, O(rows), with flat memory.
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
    print(o.getQuery(), hits, Hit::id);
    return hits;
  }

  /** Prints the hits for {@code query}, best first: similarity, what {@code name} calls the row, its text's start. */
  static void print(String query, List<Hit> hits, java.util.function.Function<Hit, String> name) {
    System.out.printf("Top %d for \"%s\":%n", hits.size(), query);
    for (int i = 0; i < hits.size(); i++) {
      Hit h = hits.get(i);
      System.out.printf("%2d. %.4f  %s  %s%n", i + 1, h.score(), name.apply(h), snippet(h.text()));
    }
  }

  /** Searches with a query vector already computed by the same model, without printing: the top hits, best first. */
  public static List<Hit> search(SearchOptions o, float[] query, String fingerprint) throws SQLException {
    if (o.getTop() < 1) {
      throw new BadInputException("--top must be >= 1, but was " + o.getTop());
    }
    Database db = DatabaseOptions.database(o);
    SearchQueries queries = new SearchQueries(TableOptions.tableNames(o));
    try (Connection c = db.connectReadOnly()) { // the source may be the user's query: it only reads
      VectorType type = EmbeddingSchema.targetVectorType(c, queries.names());
      return type.pgvector()
          ? nearest(c, queries, type, query, fingerprint, o.getTop())
          : scan(c, queries, query, fingerprint, o.getTop());
    }
  }

  /**
   * pgvector: one {@code ORDER BY embedding <=> query LIMIT k} in PostgreSQL, answered by an HNSW index where the
   * column has one. pgvector 0.8's iterative scan (strict order) keeps looking when the model filter drops
   * candidates, so k hits come back even where older vectors of another model share the index.
   */
  private static List<Hit> nearest(
      Connection c, SearchQueries queries, VectorType type, float[] query, String fingerprint, int top)
      throws SQLException {
    c.setAutoCommit(false);
    try {
      if (iterativeScans(c)) {
        try (Statement s = c.createStatement()) {
          s.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)");
        }
      }
      List<Hit> hits = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(queries.nearestQuery(fingerprint, type, top))) {
        ps.setObject(1, query);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            hits.add(new Hit(rs.getString(1), rs.getDouble(2), rs.getString(3)));
          }
        }
      }
      c.commit();
      return hits;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    }
  }

  /** hnsw.iterative_scan exists from pgvector 0.8.0. */
  private static boolean iterativeScans(Connection c) throws SQLException {
    String version = Catalog.pgvectorVersion(c);
    if (version == null) {
      return false;
    }
    String[] parts = version.split("\\.");
    int major = Integer.parseInt(parts[0]);
    int minor = parts.length > 1 ? Integer.parseInt(parts[1].replaceAll("\\D.*", "")) : 0;
    return major > 0 || minor >= 8;
  }

  /**
   * real[]: every stored vector of the model, streamed through a cursor (memory stays flat), compared in Java.
   * O(rows): use a pgvector target for large tables.
   */
  private static List<Hit> scan(Connection c, SearchQueries queries, float[] query, String fingerprint, int top)
      throws SQLException {
    // The best hit per document (a chunked target has many vectors per document): at most top entries.
    List<Hit> best = new ArrayList<>(top + 1);
    c.setAutoCommit(false); // a cursor, not the whole table in memory
    try (Statement s = c.createStatement()) {
      s.setFetchSize(1000);
      try (ResultSet rs = s.executeQuery(queries.searchQuery(fingerprint))) {
        while (rs.next()) {
          double score = Cosine.of(query, VectorType.parseText(rs.getString(2)));
          String id = rs.getString(1);
          int same = -1;
          int worst = -1;
          for (int i = 0; i < best.size(); i++) {
            same = best.get(i).id().equals(id) ? i : same;
            worst = worst < 0 || best.get(i).score() < best.get(worst).score() ? i : worst;
          }
          if (same >= 0) {
            if (score > best.get(same).score()) {
              best.set(same, new Hit(id, score, rs.getString(3)));
            }
          } else if (best.size() < top) {
            best.add(new Hit(id, score, rs.getString(3)));
          } else if (score > best.get(worst).score()) {
            best.set(worst, new Hit(id, score, rs.getString(3)));
          }
        }
      }
    }
    c.commit();
    List<Hit> out = new ArrayList<>(best);
    out.sort(Comparator.comparingDouble(Hit::score).reversed());
    return out;
  }

  /** Parses {@code {1,2}} (real[]) or {@code [1,2]} (pgvector). */
  static String snippet(String text) {
    String one = text == null ? "" : text.replaceAll("\\s+", " ").strip();
    return one.length() > 100 ? one.substring(0, 100) + "…" : one;
  }
}
