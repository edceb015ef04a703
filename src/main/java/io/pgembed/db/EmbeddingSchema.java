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
 * The job's tables made ready at start-up, in two steps: {@link #plan} checks the source and its columns, an
 * existing target's vector type, dimension and shape, and pgvector where it is needed, changing nothing; the plan's
 * {@link Plan#create} then creates what is missing (with {@link EmbeddingTables}' DDL). A wrong name or a dimension
 * mismatch therefore fails the job before anything is read or changed.
 *
 * <pre>{@code
 * EmbeddingSchema.Plan plan = EmbeddingSchema.plan(connection, tables, model.dimension(), null);
 * Layout layout = plan.create(connection);
 * }</pre>
 */
public final class EmbeddingSchema {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingSchema.class);

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

  /** {@link #plan}, then its DDL: a target of real[] when it is created. */
  public static Layout prepare(Connection c, EmbeddingTables tables, int dimension) throws SQLException {
    return prepare(c, tables, dimension, null);
  }

  /**
   * {@link #plan}, then its DDL: a missing target is created with {@code requested}'s column ({@code vector(384)};
   * null: real[]), an existing one must have that type when it is given.
   */
  public static Layout prepare(Connection c, EmbeddingTables tables, int dimension, VectorType requested)
      throws SQLException {
    return plan(c, tables, dimension, requested).create(c);
  }

  /**
   * Checks the source (readable, its columns and their types, unique ids), an existing target (its vector type and
   * dimension, one vector per row or chunks) and pgvector where it is needed; changes nothing.
   */
  public static Plan plan(Connection c, EmbeddingTables tables, int dimension, VectorType requested)
      throws SQLException {
    TableNames n = tables.names();
    SqlIdentifier source = n.source();
    SqlIdentifier idColumn = n.idColumn();
    SqlIdentifier textColumn = n.textColumn();
    SqlIdentifier target = n.target();
    SqlIdentifier embeddingColumn = n.embeddingColumn();
    Catalog.checkStandardStrings(c);
    String idType;
    String textType;
    if (n.sourceQuery() == null) {
      if (!Catalog.exists(c, source)) {
        throw new IllegalArgumentException(
            "--sourceTable=" + source + " does not exist (or is not visible to this user); check the name and schema");
      }
      idType = Catalog.columnType(c, source, idColumn, "--idColumn");
      textType = Catalog.columnType(c, source, textColumn, "--textColumn");
      Catalog.requireSelect(c, source, idColumn, textColumn);
    } else {
      String[] types =
          Database.readOnly(c, ro -> Catalog.queryColumnTypes(ro, n.sourceQuery(), idColumn, textColumn));
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
    IdType id = IdType.of(idType, idColumn);
    if (n.sourceQuery() != null || !Catalog.uniquelyIndexed(c, source, idColumn)) {
      Database.readOnly(c, ro -> {
        checkIdsUnique(ro, tables);
        return null;
      });
    }
    List<Change> changes = new ArrayList<>();
    VectorType actual;
    if (!Catalog.exists(c, target)) {
      actual = requested == null ? VectorType.REAL_ARRAY : requested;
      if (actual.pgvector()) {
        Catalog.requirePgvector(c, actual);
      }
      changes.add(new Change(target, tables.createTargetStatement(id.castType(), actual.declaration(dimension)),
          "Created " + target + " (artifact_id " + idType + ", " + embeddingColumn + " " + actual.declaration(dimension)
              + ")"));
    } else {
      actual = checkTarget(c, tables, dimension, requested);
    }
    // Only what is missing is created or altered: a role without CREATE runs against existing tables.
    if (!Catalog.exists(c, n.failures())) {
      changes.add(new Change(n.failures(), tables.createFailuresStatement(), null));
    } else if (Catalog.columnTypeOrNull(c, n.failures(), "read_at") == null) {
      changes.add(new Change(n.failures(), tables.addReadAtStatement(), null)); // a failures table from before read_at
    }
    return new Plan(new Layout(id, actual, dimension), List.copyOf(changes));
  }

  /** An existing target: its vector column's type (as asked, if asked) and dimension, and its shape (rows or chunks). */
  private static VectorType checkTarget(Connection c, EmbeddingTables tables, int dimension, VectorType requested)
      throws SQLException {
    TableNames n = tables.names();
    SqlIdentifier target = n.target();
    SqlIdentifier embeddingColumn = n.embeddingColumn();
    String declared = Catalog.columnType(c, target, embeddingColumn, "--embeddingColumn");
    VectorType actual = vectorKind(n, declared);
    if (requested != null && requested != actual) {
      throw new IllegalArgumentException(
          "--vectorType=" + requested.sqlName() + " but " + target + "." + embeddingColumn + " already exists as "
              + declared + ": leave --vectorType out to use the table as it is, name another --targetTable, or"
              + " convert the column (ALTER TABLE " + target + " ALTER COLUMN " + embeddingColumn + " TYPE "
              + requested.declaration(dimension) + ")");
    }
    tables.target().checkHolds(Catalog.columnTypeOrNull(c, target, "chunk_seq") != null);
    // vector(384): the declared dimension must match the model's, checked before anything is read.
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\w+\\((\\d+)\\)").matcher(declared);
    if (m.matches() && Integer.parseInt(m.group(1)) != dimension) {
      throw new IllegalArgumentException(
          target + "." + embeddingColumn + " is " + declared + " but the model gives " + dimension
              + "-dimensional vectors: use a model of " + m.group(1) + " dimensions, or another --targetTable");
    }
    return actual;
  }


  /** The source table's id type (it must exist and be readable): for the change log's DDL. */
  public static IdType sourceIdType(Connection c, TableNames n) throws SQLException {
    if (!Catalog.exists(c, n.source())) {
      throw new IllegalArgumentException(
          "--sourceTable=" + n.source() + " does not exist (or is not visible to this user); check the name and schema");
    }
    return IdType.of(Catalog.columnType(c, n.source(), n.idColumn(), "--idColumn"), n.idColumn());
  }

  /**
   * The kind of the target's vector column, for commands that only read it (search): the target must exist.
   */
  public static VectorType targetVectorType(Connection c, TableNames n) throws SQLException {
    if (!Catalog.exists(c, n.target())) {
      throw new IllegalArgumentException(
          n.target() + " does not exist: run the job first (or name the --targetTable it wrote)");
    }
    return vectorKind(n, Catalog.columnType(c, n.target(), n.embeddingColumn(), "--embeddingColumn"));
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




  /** Runs {@code ddl} for {@code table}; a missing privilege is an error that names it and the two fixes. */
  private static void create(Connection c, SqlIdentifier table, String ddl) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(ddl);
    } catch (SQLException e) {
      if (("23505".equals(e.getSQLState()) || "42P07".equals(e.getSQLState())) && c.getAutoCommit()) {
        // Two runs (two queue workers) created the same table at once: CREATE TABLE IF NOT EXISTS is not atomic
        // against another session's, and the loser fails on the catalog's unique index. It exists now.
        try (Statement s = c.createStatement()) {
          s.execute(ddl);
        }
        return;
      }
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






}
