package io.pgembed.search;

import io.pgembed.db.Catalog;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.SearchQueries;
import io.pgembed.db.TableNames;
import io.pgembed.db.TextSearchSql;
import io.pgembed.db.VectorType;
import io.pgembed.model.Cosine;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The stored vectors nearest to a query vector, by cosine, of one model fingerprint only: on a pgvector target
 * PostgreSQL answers (through its HNSW index when there is one); on real[] the vectors are streamed through a
 * cursor and compared here, O(rows), with flat memory. A chunked target gives the best chunk per document. What
 * the {@code search} command and {@code serve}'s {@code POST /search} share.
 *
 * <pre>{@code
 * List<VectorSearch.Hit> hits = VectorSearch.search(database, names, queryVector, fingerprint, 5);
 * }</pre>
 */
public final class VectorSearch {
  /** One result: the row's id, its similarity (1 - cosine distance), the start of its text (or best chunk's). */
  public record Hit(String id, double score, String text) {}

  private VectorSearch() {}

  /** The top hits, best first. */
  public static List<Hit> search(Database db, TableNames names, float[] query, String fingerprint, int top)
      throws SQLException {
    if (top < 1) {
      throw new IllegalArgumentException("--top must be >= 1, but was " + top);
    }
    SearchQueries queries = new SearchQueries(names);
    try (Connection c = db.connectReadOnly()) { // the source may be the user's query: it only reads
      VectorType type = EmbeddingSchema.targetVectorType(c, queries.names());
      return type.pgvector()
          ? nearest(c, queries, type, query, fingerprint, top)
          : scan(c, queries, query, fingerprint, top);
    }
  }

  /**
   * Hybrid: the {@code f.top()} best of the vectors' and the full-text ranking's lists fused by reciprocal rank,
   * best first; a hit's score is its fused score. On pgvector one statement ({@link TextSearchSql#hybridQuery});
   * on real[] the vectors are scanned here and fused with the full-text list the same way. Without the full-text
   * index it still answers (PostgreSQL reads the whole source) and warns with the statement that creates it.
   */
  public static List<Hit> hybrid(Database db, TableNames names, String config, float[] query, String text,
      String fingerprint, TextSearchSql.Fusion f) throws SQLException {
    if (f.top() < 1 || f.candidates() < 1 || f.k() < 0) {
      throw new IllegalArgumentException("--top and --hybridCandidates must be >= 1 and --rrfK >= 0, but were "
          + f.top() + ", " + f.candidates() + " and " + f.k());
    }
    TextSearchSql fts = new TextSearchSql(names, config);
    try (Connection c = db.connectReadOnly()) {
      warnWithoutIndex(c, fts);
      VectorType type = EmbeddingSchema.targetVectorType(c, names);
      boolean chunks = names.shape() == io.pgembed.db.TargetShape.CHUNKS;
      if (type.pgvector()) {
        List<Hit> hits = new ArrayList<>();
        c.setAutoCommit(false);
        try {
          try (Statement s = c.createStatement()) {
            // The HNSW scan's candidate list as long as the list fused (pgvector's default, 40, would cut it short),
            // and past the model filter with an iterative scan where pgvector has one.
            s.execute("SELECT set_config('hnsw.ef_search', '" + Math.min(1000, Math.max(40, f.candidates()
                * (chunks ? 10 : 1))) + "', true)");
            if (iterativeScans(c)) {
              s.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)");
            }
          }
          try (PreparedStatement ps = c.prepareStatement(fts.hybridQuery(fingerprint, type, f, chunks))) {
            ps.setObject(1, query);
            ps.setString(2, text);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                hits.add(new Hit(rs.getString(1), rs.getDouble(2), rs.getString(3)));
              }
            }
          }
          c.commit();
        } catch (SQLException | RuntimeException e) {
          c.rollback();
          throw e;
        }
        return hits;
      }
      List<Hit> vector = scan(c, new SearchQueries(names), query, fingerprint, f.candidates());
      java.util.Map<String, Double> score = new java.util.LinkedHashMap<>();
      java.util.Map<String, String> excerpt = new java.util.HashMap<>();
      for (int i = 0; i < vector.size(); i++) {
        score.merge(vector.get(i).id(), f.vectorWeight() / (f.k() + i + 1), Double::sum);
        excerpt.put(vector.get(i).id(), vector.get(i).text());
      }
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement(fts.textQuery(f.candidates()))) {
        ps.setString(1, text);
        try (ResultSet rs = ps.executeQuery()) {
          for (int rank = 1; rs.next(); rank++) {
            score.merge(rs.getString(1), f.textWeight() / (f.k() + rank), Double::sum);
          }
        }
      }
      List<Hit> fused = new ArrayList<>();
      for (var e : score.entrySet()) {
        fused.add(new Hit(e.getKey(), e.getValue(), excerpt.get(e.getKey())));
      }
      fused.sort(Comparator.comparingDouble(Hit::score).reversed().thenComparing(Hit::id));
      List<Hit> out = new ArrayList<>(fused.subList(0, Math.min(f.top(), fused.size())));
      fillTexts(c, names, out);
      c.commit();
      return out;
    }
  }

  /** The sources (and configurations) whose full-text index this JVM looked for: once each, not per query. */
  private static final java.util.Set<String> CHECKED = java.util.concurrent.ConcurrentHashMap.newKeySet();

  private static void warnWithoutIndex(Connection c, TextSearchSql fts) throws SQLException {
    if (!CHECKED.add(fts.names().source() + " " + fts.config())) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(fts.indexExistsQuery())) {
      ps.setString(1, fts.names().source().regclass());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          org.slf4j.LoggerFactory.getLogger(VectorSearch.class).warn("Hybrid search reads the whole of {}: it has no"
              + " full-text index. Run it once with --textSearchIndex=true, or have its owner run: {}",
              fts.names().source(), fts.createIndexStatement());
        }
      }
    }
  }

  /** The start of the text of hits found by the full-text side only (real[] targets). */
  private static void fillTexts(Connection c, TableNames names, List<Hit> hits) throws SQLException {
    List<String> missing = hits.stream().filter(h -> h.text() == null).map(Hit::id).toList();
    if (missing.isEmpty()) {
      return;
    }
    java.util.Map<String, String> texts = new java.util.HashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT s." + names.idColumn().quoted() + "::text, left(s."
        + names.textColumn().quoted() + "::text, 500) FROM " + names.source().quoted() + " s WHERE s."
        + names.idColumn().quoted() + "::text = ANY(?)")) {
      ps.setArray(1, c.createArrayOf("text", missing.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          texts.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    hits.replaceAll(h -> h.text() != null ? h : new Hit(h.id(), h.score(), texts.get(h.id())));
  }

  /**
   * The model fingerprints the target holds vectors of (at most {@code limit}), for a message when a search found
   * nothing of its own model's.
   */
  public static List<String> fingerprintsHeld(Database db, TableNames names, int limit) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = db.connectReadOnly();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT DISTINCT model FROM " + names.target().quoted() + " LIMIT " + limit)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
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

}
