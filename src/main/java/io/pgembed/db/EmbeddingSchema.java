package io.pgembed.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the database says about the job's tables ({@link EmbeddingTables#prepare}): checks the source and its
 * columns, creates the embeddings and failures tables if they are missing (with {@link EmbeddingTables}' DDL), and
 * learns the id type and vector column type. Runs before any data is read, so a wrong name
 * or a vector dimension mismatch fails the job at start-up.
 */
public final class EmbeddingSchema {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingSchema.class);
  private static final Set<String> ID_TYPES =
      Set.of("bigint", "integer", "smallint", "uuid", "text", "character varying");
  private static final Set<String> NUMERIC_IDS = Set.of("bigint", "integer", "smallint");

  /** What the pipeline needs to know about the tables. */
  public record Layout(String idType, VectorType vectorType, int dimension) implements java.io.Serializable {
    /** A pgvector column (vector or halfvec): searched with {@code <=>}, indexable with HNSW. */
    public boolean pgvector() {
      return vectorType.pgvector();
    }

    public boolean numericId() {
      return NUMERIC_IDS.contains(idType);
    }

    /** The SQL type name for casts and the target's key: character varying becomes text. */
    public String idCastType() {
      return idCastType(idType);
    }

    static String idCastType(String idType) {
      return idType.equals("character varying") ? "text" : idType;
    }
  }

  private EmbeddingSchema() {}

  /** A table still to create or alter, and the statement that does it. */
  record Change(SqlIdentifier table, String ddl, String done) {}

  /**
   * The tables checked, nothing changed yet: the layout a run will have, and the DDL still to run for it
   * ({@link #create}). A run refused on any later check has changed nothing.
   */
  public record Plan(Layout layout, List<Change> changes) {
    /** Runs the DDL (creates the missing target and failures tables); returns the layout. */
    public Layout create(Connection c) throws SQLException {
      for (Change change : changes) {
        EmbeddingSchema.create(c, change.table(), change.ddl());
        if (change.done() != null) {
          LOG.info(change.done());
        }
      }
      return layout;
    }
  }

  static Layout prepare(Connection c, EmbeddingTables tables, int dimension, VectorType requested)
      throws SQLException {
    return plan(c, tables, dimension, requested).create(c);
  }

  /**
   * Checks the source (readable, its columns and their types, unique ids), an existing target (its vector type and
   * dimension, one vector per row or chunks) and pgvector where it is needed; changes nothing.
   */
  static Plan plan(Connection c, EmbeddingTables tables, int dimension, VectorType requested) throws SQLException {
    TableNames n = tables.names();
    SqlIdentifier source = n.source();
    SqlIdentifier idColumn = n.idColumn();
    SqlIdentifier textColumn = n.textColumn();
    SqlIdentifier target = n.target();
    SqlIdentifier embeddingColumn = n.embeddingColumn();
    checkStandardStrings(c);
    String idType;
    String textType;
    if (n.sourceQuery() == null) {
      if (!exists(c, source)) {
        throw new IllegalArgumentException(
            "--sourceTable=" + source + " does not exist (or is not visible to this user); check the name and schema");
      }
      idType = columnType(c, source, idColumn, "--idColumn");
      textType = columnType(c, source, textColumn, "--textColumn");
      requireSelect(c, source, idColumn, textColumn);
    } else {
      String[] types = Database.readOnly(c, ro -> queryColumnTypes(ro, n.sourceQuery(), idColumn, textColumn));
      idType = types[0];
      textType = types[1];
    }
    if (textType.equals("bytea")) {
      throw new IllegalArgumentException("--textColumn=" + textColumn + " is bytea: its hex form would be embedded,"
          + " not its text. Use a text column, or --sourceQuery=\"SELECT " + idColumn + ", convert_from("
          + textColumn + ", 'UTF8') AS " + textColumn + " FROM " + source + "\"");
    }
    if (!Set.of("text", "character varying", "character", "json", "jsonb", "xml").contains(textType)) {
      LOG.info("--textColumn={} has type {}; it is embedded as its text form", textColumn, textType);
    }
    if (!ID_TYPES.contains(idType)) {
      throw new IllegalArgumentException(
          "--idColumn=" + idColumn + " has type " + idType + "; ids must be bigint, integer, smallint, uuid, text or"
              + " varchar");
    }
    if (n.sourceQuery() != null || !uniquelyIndexed(c, source, idColumn)) {
      Database.readOnly(c, ro -> {
        checkIdsUnique(ro, tables);
        return null;
      });
    }
    List<Change> changes = new ArrayList<>();
    VectorType actual;
    if (!exists(c, target)) {
      actual = requested == null ? VectorType.REAL_ARRAY : requested;
      if (actual.pgvector()) {
        requirePgvector(c, actual);
      }
      changes.add(new Change(target, tables.createTargetStatement(Layout.idCastType(idType), actual.declaration(dimension)),
          "Created " + target + " (artifact_id " + idType + ", " + embeddingColumn + " " + actual.declaration(dimension)
              + ")"));
    } else {
      actual = checkTarget(c, n, dimension, requested);
    }
    // Only what is missing is created or altered: a role without CREATE runs against existing tables.
    if (!exists(c, n.failures())) {
      changes.add(new Change(n.failures(), tables.createFailuresStatement(), null));
    } else if (columnTypeOrNull(c, n.failures(), "read_at") == null) {
      changes.add(new Change(n.failures(), tables.addReadAtStatement(), null)); // a failures table from before read_at
    }
    return new Plan(new Layout(idType, actual, dimension), List.copyOf(changes));
  }

  /** An existing target: its vector column's type (as asked, if asked) and dimension, and its shape (rows or chunks). */
  private static VectorType checkTarget(Connection c, TableNames n, int dimension, VectorType requested)
      throws SQLException {
    SqlIdentifier target = n.target();
    SqlIdentifier embeddingColumn = n.embeddingColumn();
    String declared = columnType(c, target, embeddingColumn, "--embeddingColumn");
    VectorType actual = vectorKind(n, declared);
    if (requested != null && requested != actual) {
      throw new IllegalArgumentException(
          "--vectorType=" + requested.sqlName() + " but " + target + "." + embeddingColumn + " already exists as "
              + declared + ": leave --vectorType out to use the table as it is, name another --targetTable, or"
              + " convert the column (ALTER TABLE " + target + " ALTER COLUMN " + embeddingColumn + " TYPE "
              + requested.declaration(dimension) + ")");
    }
    boolean holdsChunks = columnTypeOrNull(c, target, "chunk_seq") != null;
    if (n.chunked() && !holdsChunks) {
      throw new IllegalArgumentException("--chunking=tokens needs a target of chunks, but " + target + " has one"
          + " vector per row (no chunk_seq column): leave --targetTable out (chunks go to " + n.source()
          + "_chunks) or name a new table");
    }
    if (!n.chunked() && holdsChunks) {
      throw new IllegalArgumentException(target + " holds chunks (it has chunk_seq): pass --chunking=tokens to"
          + " keep it current, or name another --targetTable for one vector per row");
    }
    // vector(384): the declared dimension must match the model's, checked before anything is read.
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\w+\\((\\d+)\\)").matcher(declared);
    if (m.matches() && Integer.parseInt(m.group(1)) != dimension) {
      throw new IllegalArgumentException(
          target + "." + embeddingColumn + " is " + declared + " but the model gives " + dimension
              + "-dimensional vectors: use a model of " + m.group(1) + " dimensions, or another --targetTable");
    }
    return actual;
  }

  /** The user may read the source's id and text columns (a table or a column grant); else the GRANT to run. */
  private static void requireSelect(Connection c, SqlIdentifier source, SqlIdentifier... columns) throws SQLException {
    for (SqlIdentifier column : columns) {
      try (PreparedStatement ps = c.prepareStatement("SELECT has_column_privilege(to_regclass(?), ?, 'SELECT'),"
          + " current_user")) {
        ps.setString(1, source.regclass());
        ps.setString(2, column.name());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            throw new IllegalArgumentException("user " + rs.getString(2) + " may not read --sourceTable=" + source
                + " (no SELECT privilege on its column " + column + "): have its owner run GRANT SELECT ON "
                + source + " TO " + rs.getString(2));
          }
        }
      }
    }
  }

  /**
   * The kind of the target's vector column, for commands that only read it (search): the target must exist.
   */
  public static VectorType targetVectorType(Connection c, TableNames n) throws SQLException {
    if (!exists(c, n.target())) {
      throw new IllegalArgumentException(
          n.target() + " does not exist: run the job first (or name the --targetTable it wrote)");
    }
    return vectorKind(n, columnType(c, n.target(), n.embeddingColumn(), "--embeddingColumn"));
  }

  /** The kind of the target's vector column declared as {@code declared}; any other type is an error naming it. */
  private static VectorType vectorKind(TableNames n, String declared) {
    VectorType type = VectorType.ofColumn(declared);
    if (type == null) {
      throw new IllegalArgumentException(n.target() + "." + n.embeddingColumn() + " has type " + declared
          + "; it must be real[], or pgvector's vector(d) or halfvec(d)");
    }
    return type;
  }

  /** pgvector's version in this database, or null when the extension is not created here. */
  public static String pgvectorVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'vector'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static void requirePgvector(Connection c, VectorType type) throws SQLException {
    if (pgvectorVersion(c) == null) {
      String available;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")) {
        available = rs.next() ? rs.getString(1) : null;
      }
      throw new IllegalArgumentException("--vectorType=" + type.sqlName() + " needs pgvector in database "
          + c.getCatalog() + (available != null
              ? ": the server has pgvector " + available + "; run CREATE EXTENSION vector in that database (as its"
                  + " owner or a superuser)"
              : ": the server has no pgvector; install it (README, \"pgvector\") and run CREATE EXTENSION vector"));
    }
  }

  /** Runs {@code statements} in order on {@code c} (pruning); returns each one's count of rows changed. */
  public static long[] executeAll(Connection c, java.util.List<String> statements) throws SQLException {
    long[] counts = new long[statements.size()];
    try (Statement s = c.createStatement()) {
      for (int i = 0; i < counts.length; i++) {
        counts[i] = s.executeUpdate(statements.get(i));
      }
    }
    return counts;
  }

  /** Runs {@code ddl} for {@code table}; a missing privilege is an error that names it and the two fixes. */
  private static void create(Connection c, SqlIdentifier table, String ddl) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(ddl);
    } catch (SQLException e) {
      if (!"42501".equals(e.getSQLState())) {
        throw e;
      }
      String user;
      String schema;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT current_user, current_schema()")) {
        rs.next();
        user = rs.getString(1);
        schema = table.regclass().contains(".") ? table.regclass().substring(0, table.regclass().indexOf('.'))
            : rs.getString(2);
      }
      throw new IllegalArgumentException("user " + user + " may not create " + table + " (SQLState 42501: "
          + e.getMessage().strip().lines().findFirst().orElse("") + "). Either run once as a role that may (GRANT"
          + " CREATE ON SCHEMA " + schema + " TO " + user + "), or have the table's owner run: " + ddl
          + "; GRANT SELECT, INSERT, UPDATE, DELETE ON " + table + " TO " + user, e);
    }
  }

  /** The fingerprint literal is built into SQL; that is safe only with standard-conforming strings. */
  private static void checkStandardStrings(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW standard_conforming_strings")) {
      if (rs.next() && !rs.getString(1).equals("on")) {
        throw new IllegalArgumentException("the server runs with standard_conforming_strings = off, and the job's"
            + " SQL needs it on (the PostgreSQL default since 9.1): ALTER DATABASE " + c.getCatalog()
            + " SET standard_conforming_strings = on, or ALTER ROLE ... SET standard_conforming_strings = on");
      }
    }
  }

  public static boolean exists(Connection c, SqlIdentifier table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      ps.setString(1, table.regclass());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /**
   * Two source rows with one id would fight over one vector (each run overwriting the other's), so the run is
   * refused: a table whose id has a one-column unique index (a primary key) needs no look; otherwise (a
   * --sourceQuery, a table without one) one aggregate over the source finds them.
   */
  private static void checkIdsUnique(Connection c, EmbeddingTables tables) throws SQLException {
    StringBuilder found = new StringBuilder();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(tables.duplicateIdsQuery())) {
      while (rs.next()) {
        found.append(found.length() == 0 ? "" : ", ").append(rs.getString(1)).append(" (").append(rs.getLong(2))
            .append(" rows)");
      }
    }
    if (found.length() > 0) {
      TableNames n = tables.names();
      String what = n.sourceQuery() != null ? "--sourceQuery" : "--sourceTable=" + n.source();
      throw new IllegalArgumentException(what + " returns more than one row for --idColumn=" + n.idColumn()
          + " " + found + ": each id gets one vector, so its rows would overwrite each other. Return one row per"
          + " id (e.g. SELECT DISTINCT ON (id) ... ORDER BY id, updated_at DESC), or name a unique --idColumn.");
    }
  }

  private static boolean uniquelyIndexed(Connection c, SqlIdentifier table, SqlIdentifier column)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_index i JOIN pg_attribute a"
        + " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        + " WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL"
        + " AND a.attname = ?")) {
      ps.setString(1, table.regclass());
      ps.setString(2, column.name());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static String columnType(Connection c, SqlIdentifier table, SqlIdentifier column, String option)
      throws SQLException {
    String type = columnTypeOrNull(c, table, column.name());
    if (type == null) {
      throw new IllegalArgumentException(option + "=" + column + ": " + table + " has no such column");
    }
    return type;
  }

  /** The column's SQL type, or null when {@code table} has no such column. */
  private static String columnTypeOrNull(Connection c, SqlIdentifier table, String column) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                + " WHERE attrelid = to_regclass(?) AND attname = ? AND NOT attisdropped AND attnum > 0")) {
      ps.setString(1, table.regclass());
      ps.setString(2, column);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /**
   * The SQL types of the id and text columns {@code sourceQuery} returns, from running it with {@code LIMIT 0} (in
   * a read-only transaction, {@code c}); a query that is not valid SQL, reads what it may not, or tries to write is
   * an error naming it and PostgreSQL's reason.
   */
  private static String[] queryColumnTypes(Connection c, String sourceQuery, SqlIdentifier idColumn,
      SqlIdentifier textColumn) throws SQLException {
    if (sourceQuery.strip().endsWith(";")) {
      throw new IllegalArgumentException("--sourceQuery ends with ';': give one SELECT without the semicolon (it is"
          + " run as a subquery)");
    }
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT * FROM (" + sourceQuery + ") q LIMIT 0")) {
      var md = rs.getMetaData();
      String[] types = new String[2];
      SqlIdentifier[] wanted = {idColumn, textColumn};
      for (int i = 1; i <= md.getColumnCount(); i++) {
        for (int w = 0; w < 2; w++) {
          if (md.getColumnLabel(i).equals(wanted[w].name())) {
            types[w] = sqlTypeName(md.getColumnTypeName(i));
          }
        }
      }
      for (int w = 0; w < 2; w++) {
        if (types[w] == null) {
          throw new IllegalArgumentException("--sourceQuery returns no column named '" + wanted[w] + "' (the "
              + (w == 0 ? "--idColumn" : "--textColumn") + "): name its columns with AS, e.g. SELECT ... AS "
              + wanted[w]);
        }
      }
      return types;
    } catch (SQLException e) {
      throw badSourceQuery(e).orElseThrow(() -> e);
    }
  }

  /**
   * A {@code --sourceQuery} error that is the query's fault, as one line naming it: not valid SQL or naming what
   * is not there (class 42), not allowed where it is run (0A000), or trying to write (25006).
   */
  public static java.util.Optional<IllegalArgumentException> badSourceQuery(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String reason = e.getMessage() == null ? "" : e.getMessage().strip().lines().findFirst().orElse("");
    if (state.equals("25006")) {
      return java.util.Optional.of(new IllegalArgumentException("--sourceQuery must only read, but it tried to write ("
          + reason + "): the source is read in a read-only transaction. Give a plain SELECT"));
    }
    if (state.startsWith("42") || state.equals("0A000")) {
      return java.util.Optional.of(new IllegalArgumentException("--sourceQuery is not a query this database can run ("
          + reason + ", SQLState " + state + "): check it in psql as SELECT * FROM (<query>) q LIMIT 0"));
    }
    return java.util.Optional.empty();
  }

  private static String sqlTypeName(String driverName) {
    return switch (driverName) {
      case "int8" -> "bigint";
      case "int4" -> "integer";
      case "int2" -> "smallint";
      case "varchar" -> "character varying";
      case "bpchar" -> "character";
      default -> driverName;
    };
  }
}
