package io.pgembed.commands;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.ModelOptions;
import io.pgembed.db.TextSearchSql;
import io.pgembed.options.QueryOptions;
import io.pgembed.options.SearchOptions;
import io.pgembed.options.TableOptions;
import io.pgembed.search.SearchMode;
import io.pgembed.search.VectorSearch;
import io.pgembed.search.VectorSearch.Hit;
import java.sql.SQLException;
import java.util.List;

/**
 * {@code search --query=... --top=K}: embeds the query with the same model and prints the K stored rows nearest by
 * cosine, with their similarity and the start of their text. Only vectors of the current model fingerprint are
 * compared ({@link VectorSearch}). {@code --mode=hybrid} fuses them with PostgreSQL's full-text ranking by reciprocal
 * rank; the score printed is then the fused one.
 */
public final class SearchCommand {
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
    float[] vector = p.embedTexts(List.of(o.getQuery()))[0];
    List<Hit> hits = o.getMode() == SearchMode.HYBRID
        ? VectorSearch.hybrid(DatabaseOptions.database(o), TableOptions.tableNames(o), o.getTextSearchConfig(), vector,
            o.getQuery(), model.fingerprint().toString(), fusion(o))
        : search(o, vector, model.fingerprint().toString());
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

  /** Hybrid search's fusion settings from the options. */
  public static TextSearchSql.Fusion fusion(QueryOptions o) {
    if (o.getTop() < 1 || o.getHybridCandidates() < 1 || o.getRrfK() < 0 || o.getVectorWeight() < 0
        || o.getTextWeight() < 0) {
      throw new BadInputException("--top and --hybridCandidates must be >= 1, --rrfK, --vectorWeight and --textWeight"
          + " >= 0, but were " + o.getTop() + ", " + o.getHybridCandidates() + ", " + o.getRrfK() + ", "
          + o.getVectorWeight() + " and " + o.getTextWeight());
    }
    return new TextSearchSql.Fusion(o.getTop(), o.getHybridCandidates(), o.getRrfK(), o.getVectorWeight(),
        o.getTextWeight());
  }

  /** Searches with a query vector already computed by the same model, without printing: the top hits, best first. */
  public static List<Hit> search(SearchOptions o, float[] query, String fingerprint) throws SQLException {
    if (o.getTop() < 1) {
      throw new BadInputException("--top must be >= 1, but was " + o.getTop());
    }
    return VectorSearch.search(DatabaseOptions.database(o), TableOptions.tableNames(o), query, fingerprint, o.getTop());
  }

  /** Parses {@code {1,2}} (real[]) or {@code [1,2]} (pgvector). */
  static String snippet(String text) {
    String one = text == null ? "" : text.replaceAll("\\s+", " ").strip();
    return one.length() > 100 ? one.substring(0, 100) + "…" : one;
  }
}
