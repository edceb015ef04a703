package io.pgembed.capture;

import io.pgembed.db.Layout;
import io.pgembed.db.SqlIdentifier;
import io.pgembed.db.TableNames;
import java.io.Serializable;
import java.util.List;

/**
 * A source table's change log, {@code <source>_changes}, kept by the database: one entry per statement and
 * operation, with a sequence number, the ids it changed (an array), the operation ({@code upsert}: inserted, or
 * the text or the id changed; {@code delete}: deleted, or the id changed away) and when it was queued; a
 * {@code TRUNCATE} queues one entry with no ids. A drain reads an id once however many entries name it, and
 * removes an entry once none of its rows is pending. Statement triggers over transition tables fill it ({@code
 * AFTER INSERT}; {@code AFTER UPDATE}, queuing only rows whose id or text really changed; {@code AFTER DELETE};
 * {@code AFTER TRUNCATE}), and each statement that queued something sends one {@code NOTIFY} on the channel named
 * after the log. Every trigger is {@code ENABLE ALWAYS}, so it fires on a logical-replication subscriber too.
 * {@code <source>_changes_state} remembers, per target, the model whose full scan the log now continues.
 *
 * <pre>{@code
 * ChangeLog log = ChangeLog.of(names);
 * log.ddl(layout).forEach(statement::execute); // or print it for a DBA: capture-sql
 * }</pre>
 */
public record ChangeLog(TableNames names, SqlIdentifier log, SqlIdentifier state, SqlIdentifier sequence,
    SqlIdentifier rowFunction, SqlIdentifier statementFunction) implements Serializable {

  /** The log of {@code names}' source table. */
  public static ChangeLog of(TableNames names) {
    if (names.sourceQuery() != null) {
      throw new IllegalArgumentException("--changeCapture=trigger needs a --sourceTable to watch, but a --sourceQuery"
          + " has no single table whose changes a trigger could log: put the query in a view and watch its table"
          + " with --sourceTable (and --textColumn), or use --changeCapture=scan");
    }
    SqlIdentifier source = names.source();
    String fix = "a shorter --sourceTable (the change log is <source>_changes)";
    return new ChangeLog(names, source.withSuffix("_changes", fix), source.withSuffix("_changes_state", fix),
        source.withSuffix("_changes_seq", fix), source.withSuffix("_changes_row", fix),
        source.withSuffix("_changes_stmt", fix));
  }

  /** The channel the triggers notify: the log's name. */
  public String channel() {
    return log.name();
  }

  /** The most ids one log entry holds: a statement that changed more rows queues one entry per million. */
  public static final int IDS_PER_ENTRY = 1_000_000;

  /**
   * The statements that install the log and its triggers ({@code layout}: the source id's type), or bring a log of
   * the first layout (one row per id) to this one; run them in one transaction. The triggers are per statement, over its
   * transition tables: a statement queues one entry per operation holding the ids it changed (an array, stored
   * uncompressed: a bulk write pays for one small row, not a row per id); an UPDATE queues only the rows whose id
   * or text changed (another column's update queues nothing); each statement that queued something sends one
   * NOTIFY. JIT is off in the triggers: compiling their queries cost a bulk update more than running them.
   */
  public List<String> ddl(Layout layout) {
    String id = names.idColumn().quoted();
    String text = names.textColumn().quoted();
    String src = names.source().quoted();
    String t = names.source().name();
    String idArray = layout.idCastType() + "[]";
    String lg = log.quoted();
    String inserted = "SELECT " + id + " AS id, 'upsert' AS op FROM new_rows";
    String updated = "SELECT coalesce(w." + id + ", o." + id + ") AS id, CASE WHEN w." + id + " IS NULL THEN 'delete'"
        + " ELSE 'upsert' END AS op FROM old_rows o FULL JOIN new_rows w ON o." + id + " = w." + id + " WHERE o." + id
        + " IS NULL OR w." + id + " IS NULL OR o." + text + " IS DISTINCT FROM w." + text;
    String deleted = "SELECT " + id + " AS id, 'delete' AS op FROM old_rows";
    List<String> out = new java.util.ArrayList<>(List.of(
        // Cached per session: numbers need not follow commit order (a drain settles an entry only when its rows are
        // no longer pending), so no writer waits on the sequence.
        "CREATE SEQUENCE IF NOT EXISTS " + sequence.quoted() + " CACHE 1000",
        // No index: an insert into the log costs the user's write as little as it can; the log is read whole, and
        // a drained log is small.
        "CREATE TABLE IF NOT EXISTS " + lg + " (seq bigint NOT NULL DEFAULT nextval('" + sequence.quoted()
            + "'), ids " + idArray + " NOT NULL, op text NOT NULL, queued_at timestamptz NOT NULL DEFAULT now())",
        // A log of the first layout (one row per id, in a column named id) keeps its entries, one id each.
        "DO $pgembed$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass("
            + io.pgembed.db.SqlLiteral.of(log.regclass()) + ") AND attname = 'id' AND NOT attisdropped) THEN"
            + " ALTER TABLE " + lg + " ADD COLUMN ids " + idArray + "; UPDATE " + lg + " SET ids = CASE WHEN id IS NULL"
            + " THEN '{}' ELSE ARRAY[id] END; ALTER TABLE " + lg + " DROP COLUMN id; ALTER TABLE " + lg + " ALTER COLUMN"
            + " ids SET NOT NULL; END IF; END $pgembed$",
        "ALTER TABLE " + lg + " ALTER COLUMN ids SET STORAGE EXTERNAL",
        "CREATE TABLE IF NOT EXISTS " + state.quoted() + " (target_table text PRIMARY KEY, model text NOT NULL,"
            + " scanned_at timestamptz NOT NULL DEFAULT now())",
        // SECURITY DEFINER: whoever writes to the source needs no privilege on the log.
        "CREATE OR REPLACE FUNCTION " + rowFunction.quoted() + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
            + " SET search_path FROM CURRENT SET jit = off AS $pgembed$ DECLARE n bigint; BEGIN"
            + " IF TG_OP = 'INSERT' THEN SELECT count(*) INTO n FROM new_rows; " + queue(inserted)
            + " ELSIF TG_OP = 'UPDATE' THEN SELECT count(*) INTO n FROM new_rows; " + queue(updated)
            + " ELSE SELECT count(*) INTO n FROM old_rows; " + queue(deleted)
            + " END IF; GET DIAGNOSTICS n = ROW_COUNT;"
            + " IF n > 0 THEN PERFORM pg_notify(" + io.pgembed.db.SqlLiteral.of(channel()) + ", ''); END IF;"
            + " RETURN NULL; END $pgembed$",
        "CREATE OR REPLACE FUNCTION " + statementFunction.quoted() + "() RETURNS trigger LANGUAGE plpgsql SECURITY"
            + " DEFINER SET search_path FROM CURRENT AS $pgembed$ BEGIN INSERT INTO " + lg + " (ids, op) VALUES ('{}',"
            + " 'truncate'); PERFORM pg_notify(" + io.pgembed.db.SqlLiteral.of(channel()) + ", ''); RETURN NULL;"
            + " END $pgembed$"));
    String[][] triggers = {
      {"_changes_ins", "AFTER INSERT ON " + src + " REFERENCING NEW TABLE AS new_rows", rowFunction.quoted()},
      {"_changes_upd", "AFTER UPDATE ON " + src + " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
          rowFunction.quoted()},
      {"_changes_del", "AFTER DELETE ON " + src + " REFERENCING OLD TABLE AS old_rows", rowFunction.quoted()},
      {"_changes_truncate", "AFTER TRUNCATE ON " + src, statementFunction.quoted()}};
    for (String[] tr : triggers) {
      out.add("DROP TRIGGER IF EXISTS " + quoted(t + tr[0]) + " ON " + src);
      out.add("CREATE TRIGGER " + quoted(t + tr[0]) + " " + tr[1] + " FOR EACH STATEMENT EXECUTE FUNCTION " + tr[2]
          + "()");
      out.add("ALTER TABLE " + src + " ENABLE ALWAYS TRIGGER " + quoted(t + tr[0]));
    }
    return List.copyOf(out);
  }

  /**
   * The trigger's statement that queues {@code changes} (rows of id and op; {@code n}: the transition table's
   * rows): one entry per op, or, past {@link #IDS_PER_ENTRY} rows, one per million (an array is at most 1 GB).
   */
  private String queue(String changes) {
    String insert = "INSERT INTO " + log.quoted() + " (ids, op) SELECT array_agg(c.id), c.op FROM (";
    return "IF n <= " + IDS_PER_ENTRY + " THEN " + insert + changes + ") c GROUP BY c.op; ELSE " + insert
        + "SELECT s.*, (row_number() OVER ()) / " + IDS_PER_ENTRY + " AS part FROM (" + changes + ") s) c GROUP BY"
        + " c.op, c.part; END IF;";
  }

  /** The names of the four triggers, as pg_trigger holds them. */
  public List<String> triggerNames() {
    String t = names.source().name();
    return List.of(t + "_changes_ins", t + "_changes_upd", t + "_changes_del", t + "_changes_truncate");
  }

  /** What the job's role needs on the log once its owner installed it ({@code user}: the role). */
  public List<String> grants(String user) {
    String role = SqlIdentifier.column(user, "--username").quoted();
    return List.of("GRANT SELECT, DELETE ON " + log.quoted() + " TO " + role,
        "GRANT SELECT, INSERT, UPDATE ON " + state.quoted() + " TO " + role);
  }

  private static String quoted(String triggerName) {
    return SqlIdentifier.column(triggerName, "a trigger's name (from --sourceTable)").quoted();
  }

  /** The ids of changed rows (upserts) queued up to {@code maxSeq}: what a drain may find pending. */
  public String upsertedIds(long maxSeq) {
    return "SELECT DISTINCT u.id FROM " + log.quoted() + " l CROSS JOIN LATERAL unnest(l.ids) u(id) WHERE l.op ="
        + " 'upsert' AND l.seq <= " + maxSeq;
  }

  /** The ids of deleted rows queued up to {@code maxSeq}: what a drain prunes. */
  public String deletedIds(long maxSeq) {
    return "SELECT u.id FROM " + log.quoted() + " l CROSS JOIN LATERAL unnest(l.ids) u(id) WHERE l.op = 'delete'"
        + " AND l.seq <= " + maxSeq;
  }

  /** The newest sequence number in the log (0: empty), and whether a TRUNCATE is queued up to it. */
  public String headQuery() {
    return "SELECT coalesce(max(seq), 0), bool_or(op = 'truncate') FROM " + log.quoted();
  }

  /**
   * The depth of the log named {@code quotedLog} (this one, or one found in the catalog): the changes queued (each
   * id of each entry, and a TRUNCATE as one), and the oldest entry's age.
   */
  static Depth depth(java.sql.Connection c, String quotedLog) throws java.sql.SQLException {
    try (java.sql.Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT coalesce(sum(greatest(cardinality(ids), 1)), 0),"
            + " coalesce(extract(epoch FROM clock_timestamp() - min(queued_at)), 0) FROM " + quotedLog)) {
      rs.next();
      return new Depth(rs.getLong(1), rs.getDouble(2));
    }
  }

  /**
   * Removes what a drain settled: entries up to {@code maxSeq} none of whose ids is still pending ({@code pending}:
   * the drain's own pending query, restricted to the log), and the deletes and TRUNCATE it pruned. An entry a newer
   * change replaced has a higher number and stays.
   */
  public String settleStatement(long maxSeq, String pending) {
    return "DELETE FROM " + log.quoted() + " l WHERE l.seq <= " + maxSeq + " AND (l.op <> 'upsert' OR l.seq NOT IN"
        + " (SELECT k.seq FROM " + log.quoted() + " k CROSS JOIN LATERAL unnest(k.ids) u(id) JOIN (" + pending
        + ") p ON p.id = u.id WHERE k.op = 'upsert' AND k.seq <= " + maxSeq + "))";
  }

  /** How far behind the log is: entries queued, and the oldest one's age in seconds (0 when empty). */
  public record Depth(long entries, double oldestSeconds) implements Serializable {}

  /** The model whose full scan this log continues for the target (one parameter: the target's name). */
  public String scannedModelQuery() {
    return "SELECT model FROM " + state.quoted() + " WHERE target_table = ?";
  }

  /** Records that a full scan by the model (second parameter) completed for the target (first parameter). */
  public String recordScanStatement() {
    return "INSERT INTO " + state.quoted() + " (target_table, model) VALUES (?, ?) ON CONFLICT (target_table) DO"
        + " UPDATE SET model = EXCLUDED.model, scanned_at = now()";
  }
}
