package io.pgembed.db;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes what belongs to rows gone from the source: their vectors and failure records, and (with chunks) the
 * failure records of documents now complete. A source table is anti-joined inside the DELETE. A
 * {@code --sourceQuery} is the user's SQL, so it never runs inside a write: the ids it no longer returns are read in
 * a read-only transaction, then deleted by id. {@code onlyIds} (a subquery of ids; null: all) restricts a prune
 * to rows a change log says were deleted.
 *
 * <pre>{@code
 * long[] removed = new Pruning(tables, layout.idCastType()).pruneDeleted(database); // {vectors, failure records}
 * }</pre>
 */
public record Pruning(EmbeddingTables tables, String idCastType, String onlyIds) implements Serializable {
  /** Prunes every id of the target. */
  public Pruning(EmbeddingTables tables, String idCastType) {
    this(tables, idCastType, null);
  }

  /** Removes the vectors and failure records of rows no longer in the source; returns both counts. */
  public long[] pruneDeleted(Database database) throws SQLException {
    try (Connection c = database.connect()) {
      if (tables.names().sourceQuery() == null) {
        return Database.executeAll(c, tables.pruneStatements(idCastType, onlyIds));
      }
      List<String> reads = tables.goneIdsQueries(idCastType);
      List<List<String>> gone = Database.readOnly(c, ro -> List.of(ids(ro, reads.get(0)), ids(ro, reads.get(1))));
      List<String> deletes = tables.deleteByIdsStatements(idCastType);
      long[] removed = new long[2];
      for (int i = 0; i < 2; i++) {
        if (gone.get(i).isEmpty()) {
          continue;
        }
        try (PreparedStatement ps = c.prepareStatement(deletes.get(i))) {
          ps.setArray(1, c.createArrayOf("text", gone.get(i).toArray()));
          removed[i] = ps.executeUpdate();
        }
      }
      return removed;
    }
  }

  /** With chunks: removes the failure records of documents whose chunks are now all current; returns how many. */
  public long clearCompletedFailures(Database database) throws SQLException {
    List<String> statements = tables.clearCompletedFailuresStatements(idCastType);
    if (statements.isEmpty()) {
      return 0; // a target of rows: each upsert clears its own row's record
    }
    try (Connection c = database.connect()) {
      if (tables.names().sourceQuery() == null) {
        return java.util.Arrays.stream(Database.executeAll(c, statements)).sum();
      }
      List<String[]> complete = Database.readOnly(c, ro -> {
        List<String[]> out = new ArrayList<>();
        for (String query : tables.completedFailuresQueries(idCastType)) {
          try (ResultSet rs = ro.createStatement().executeQuery(query)) {
            while (rs.next()) {
              out.add(new String[] {rs.getString(1), rs.getString(2)});
            }
          }
        }
        return out;
      });
      long removed = 0;
      try (PreparedStatement ps = c.prepareStatement(tables.deleteFailureStatement())) {
        for (String[] record : complete) {
          ps.setString(1, record[0]);
          ps.setString(2, record[1]);
          removed += ps.executeUpdate();
        }
      }
      return removed;
    }
  }

  private static List<String> ids(Connection c, String query) throws SQLException {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = c.createStatement().executeQuery(query)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
