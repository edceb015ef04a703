package io.pgembed.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What PostgreSQL's catalog says about the job's relations, and the checks that read it: whether a table exists,
 * its columns' types, a one-column unique index, the user's SELECT privilege, pgvector, the server's string
 * setting, and the columns a {@code --sourceQuery} returns. It only reads.
 */
public final class Catalog {
  private Catalog() {}

  /** The user may read the source's id and text columns (a table or a column grant); else the GRANT to run. */
  static void requireSelect(Connection c, SqlIdentifier source, SqlIdentifier... columns) throws SQLException {
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

  /** pgvector's version in this database, or null when the extension is not created here. */
  public static String pgvectorVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT extversion FROM pg_extension WHERE extname = 'vector'")) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  static void requirePgvector(Connection c, VectorType type) throws SQLException {
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

  /** The fingerprint literal is built into SQL; that is safe only with standard-conforming strings. */
  static void checkStandardStrings(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW standard_conforming_strings")) {
      if (rs.next() && !rs.getString(1).equals("on")) {
        throw new IllegalArgumentException("the server runs with standard_conforming_strings = off, and the job's"
            + " SQL needs it on (the PostgreSQL default since 9.1): ALTER DATABASE " + c.getCatalog()
            + " SET standard_conforming_strings = on, or ALTER ROLE ... SET standard_conforming_strings = on");
      }
    }
  }

  /** A table's owner, the role connected, and whether that role may act as the owner (is a member of its role). */
  public record Ownership(String owner, String user, boolean mayCreate) {}

  /** Who owns {@code table}, and whether this connection's role may create what only its owner may (triggers, indexes). */
  public static Ownership ownership(Connection c, SqlIdentifier table) throws SQLException {
    try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT pg_get_userbyid(relowner), current_user,"
        + " pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass(?)")) {
      ps.setString(1, table.regclass());
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Ownership(rs.getString(1), rs.getString(2), rs.getBoolean(3));
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

  static boolean uniquelyIndexed(Connection c, SqlIdentifier table, SqlIdentifier column)
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

  static String columnType(Connection c, SqlIdentifier table, SqlIdentifier column, String option)
      throws SQLException {
    String type = columnTypeOrNull(c, table, column.name());
    if (type == null) {
      throw new IllegalArgumentException(option + "=" + column + ": " + table + " has no such column");
    }
    return type;
  }

  /** The column's SQL type, or null when {@code table} has no such column. */
  static String columnTypeOrNull(Connection c, SqlIdentifier table, String column) throws SQLException {
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
  static String[] queryColumnTypes(Connection c, String sourceQuery, SqlIdentifier idColumn,
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

  static String sqlTypeName(String driverName) {
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
