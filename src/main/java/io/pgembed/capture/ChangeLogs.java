package io.pgembed.capture;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The change logs a database holds (each {@code <source>_changes} beside its {@code _changes_state}; one of an
 * older layout, until a run upgrades it, is left out), and their depth.
 */
public final class ChangeLogs {
  private ChangeLogs() {}

  /** Each log's name and its depth now, for a worker's /metrics. */
  public static Map<String, ChangeLog.Depth> depths(Connection c) throws SQLException {
    Map<String, String> logs = new LinkedHashMap<>();
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT l.oid::regclass::text, quote_ident(n.nspname) || '.' ||"
            + " quote_ident(l.relname) FROM pg_class l JOIN pg_namespace n ON n.oid = l.relnamespace"
            + " WHERE l.relkind = 'r' AND l.relname LIKE '%\\_changes' AND to_regclass(quote_ident(n.nspname) || '.'"
            + " || quote_ident(l.relname || '_state')) IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute a"
            + " WHERE a.attrelid = l.oid AND a.attname = 'ids' AND NOT a.attisdropped) ORDER BY 1")) {
      while (rs.next()) {
        logs.put(rs.getString(1), rs.getString(2));
      }
    }
    Map<String, ChangeLog.Depth> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> log : logs.entrySet()) {
      out.put(log.getKey(), ChangeLog.depth(c, log.getValue()));
    }
    return out;
  }
}
