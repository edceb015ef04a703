package io.pgembed.db;

/**
 * Hybrid search's SQL: PostgreSQL's full-text ranking of the source's text ({@code websearch_to_tsquery},
 * {@code ts_rank_cd}) beside the vectors' nearest ({@code <=>}), fused by reciprocal rank in one statement. The
 * full-text side reads an expression GIN index on the source, {@code to_tsvector(config, text)}: PostgreSQL keeps
 * it current with every write, so nothing beside the vectors has to be maintained, and the queries below repeat the
 * index's expression exactly so that the planner uses it. For chunks, the documents the index finds have each
 * chunk ranked on its own text; the best chunk per document is ranked, and results stay one per document.
 *
 * <pre>{@code
 * TextSearchSql fts = new TextSearchSql(names, "english");
 * String sql = fts.hybridQuery(fingerprint, VectorType.VECTOR, new Fusion(5, 50, 60, 1, 1)); // ?: vector, text
 * }</pre>
 */
public record TextSearchSql(TableNames names, String config) {
  /**
   * The most matches the full-text side ranks. A query matching more (a common word: "library for" matched 24,381
   * of 100,000 package descriptions) carries little keyword signal, and ranking every match re-parses each text:
   * 131 ms where vector search took 5 (2,000 matches: 13 ms). Past this many, the best of the first this many
   * matches (in the index's order) are fused; a selective query is ranked whole.
   */
  public static final int MATCHES_RANKED = 1000;

  /** How the two lists are fused: the hits asked for, each list's length, k, and the lists' weights. */
  public record Fusion(int top, int candidates, int k, double vectorWeight, double textWeight) {}

  public TextSearchSql {
    if (names.sourceQuery() != null) {
      throw new IllegalArgumentException("hybrid search ranks the text of a --sourceTable, whose index it reads; a"
          + " --sourceQuery has no table to index: put the query in a view over its table, or use --mode=vector");
    }
    if (config == null || !config.matches("[A-Za-z0-9_.]+")) {
      throw new IllegalArgumentException("--textSearchConfig=" + config + " is not a configuration name (english,"
          + " simple, ...: SELECT cfgname FROM pg_ts_config)");
    }
  }

  /** The source's text as a tsvector: the index's expression, repeated verbatim by every query. */
  public String document(String alias) {
    return "to_tsvector(" + SqlLiteral.of(config) + "::regconfig, " + alias + "." + names.textColumn().quoted() + ")";
  }

  public SqlIdentifier indexName() {
    return names.source().withSuffix("_fts_idx", "a shorter --sourceTable (the index is <source>_fts_idx)");
  }

  /** The GIN index, built without blocking the table's writers (run it outside a transaction block). */
  public String createIndexStatement() {
    return "CREATE INDEX CONCURRENTLY IF NOT EXISTS " + indexName().quoted() + " ON " + names.source().quoted()
        + " USING gin (" + document("s").replace("s.", "") + ")";
  }

  /** Whether the source has a valid index on this expression (any name): one parameter, the source's regclass. */
  public String indexExistsQuery() {
    return "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass(?) AND i.indisvalid AND"
        + " pg_get_expr(i.indexprs, i.indrelid) = " + SqlLiteral.of("to_tsvector(" + SqlLiteral.of(config)
        + "::regconfig, " + names.textColumn().quoted() + ")") + ")";
  }

  /** The query's tsquery (one parameter: the query's text). */
  private String tsquery() {
    return "websearch_to_tsquery(" + SqlLiteral.of(config) + "::regconfig, ?)";
  }

  /** The source rows matching the text (one parameter), best first: id as text, rank. For a real[] target. */
  public String textQuery(int candidates) {
    return "WITH q AS (SELECT " + tsquery() + " AS q) SELECT d." + names.idColumn().quoted() + "::text, ts_rank_cd("
        + document("d") + ", q.q) AS rank FROM " + matches(names.source().quoted(), names.idColumn().quoted())
        + " d, q ORDER BY rank DESC, 1 LIMIT " + candidates;
  }

  /** At most {@link #MATCHES_RANKED} source rows matching the CTE {@code q} (every column), through the index. */
  private String matches(String src, String id) {
    return "(SELECT m.* FROM " + src + " m, q WHERE " + document("m") + " @@ q.q LIMIT " + MATCHES_RANKED + ")";
  }

  /**
   * On a pgvector target: the fused hits, best first (id as text, fused score, the start of the text or of the best
   * chunk). Two parameters: the query's vector ({@code type}'s cast), then its text.
   */
  public String hybridQuery(String fingerprint, VectorType type, Fusion f, boolean chunks) {
    String fp = SqlLiteral.of(fingerprint);
    String id = names.idColumn().quoted();
    String text = names.textColumn().quoted();
    String src = names.source().quoted();
    String target = names.target().quoted();
    String vec = names.embeddingColumn().quoted();
    String sha = "sha256(convert_to(d." + text + "::text, 'UTF8'))";
    String vector;
    String full;
    if (!chunks) {
      vector = "SELECT n.artifact_id AS id, NULL::int AS cs, NULL::int AS ce, row_number() OVER (ORDER BY n.distance)"
          + " AS r FROM (SELECT e.artifact_id, e." + vec + " <=> " + type.parameter() + " AS distance FROM " + target
          + " e WHERE e.model = " + fp + " ORDER BY distance LIMIT " + f.candidates() + ") n";
      full = "SELECT m.id, NULL::int AS cs, NULL::int AS ce, row_number() OVER (ORDER BY m.rank DESC, m.id) AS r"
          + " FROM (SELECT d." + id + " AS id, ts_rank_cd(" + document("d") + ", q.q) AS rank FROM " + matches(src, id)
          + " d, q ORDER BY rank DESC LIMIT " + f.candidates() + ") m";
    } else {
      // The nearest chunks (ten per candidate), the best per document, ranked.
      vector = "SELECT b.artifact_id AS id, b.chunk_start AS cs, b.chunk_end AS ce, row_number() OVER (ORDER BY"
          + " b.distance) AS r FROM (SELECT DISTINCT ON (c.artifact_id) c.* FROM (SELECT e.artifact_id, e.chunk_start,"
          + " e.chunk_end, e." + vec + " <=> " + type.parameter() + " AS distance FROM " + target + " e WHERE e.model"
          + " = " + fp + " ORDER BY distance LIMIT " + f.candidates() * 10 + ") c ORDER BY c.artifact_id, c.distance)"
          + " b ORDER BY b.distance LIMIT " + f.candidates();
      // The documents the index finds; each current chunk ranked on its own text; the best chunk per document.
      full = "SELECT b.id, b.cs, b.ce, row_number() OVER (ORDER BY b.rank DESC, b.id) AS r FROM (SELECT DISTINCT"
          + " ON (e.artifact_id) e.artifact_id AS id, e.chunk_start AS cs, e.chunk_end AS ce, ts_rank_cd(to_tsvector("
          + SqlLiteral.of(config) + "::regconfig, substr(d." + text + "::text, e.chunk_start + 1, e.chunk_end -"
          + " e.chunk_start)), q.q) AS rank FROM (SELECT d.* FROM " + matches(src, id) + " d, q ORDER BY ts_rank_cd("
          + document("d") + ", q.q) DESC LIMIT " + f.candidates() + ") d CROSS JOIN q JOIN "
          + target + " e ON e.artifact_id = d." + id + " AND e.model = " + fp + " AND e.content_sha256 = " + sha
          + " ORDER BY e.artifact_id, rank DESC) b";
    }
    String excerpt = chunks ? "left(substr(s." + text + "::text, coalesce(v.cs, t.cs) + 1, coalesce(v.ce, t.ce) -"
        + " coalesce(v.cs, t.cs)), 500)" : "left(s." + text + "::text, 500)";
    return "WITH v AS (" + vector + "), q AS (SELECT " + tsquery() + " AS q), t AS (" + full + "),"
        + " fused AS (SELECT u.id, sum(u.w) AS score FROM (SELECT id, " + f.vectorWeight() + " / (" + f.k()
        + " + r) AS w FROM v UNION ALL SELECT id, " + f.textWeight() + " / (" + f.k() + " + r) FROM t) u GROUP BY"
        + " u.id) SELECT fused.id::text, fused.score, " + excerpt + " FROM fused JOIN " + src + " s ON s." + id
        + " = fused.id LEFT JOIN v ON v.id = fused.id LEFT JOIN t ON t.id = fused.id ORDER BY fused.score DESC,"
        + " fused.id LIMIT " + f.top();
  }
}
