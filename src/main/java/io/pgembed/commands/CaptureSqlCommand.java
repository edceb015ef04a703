package io.pgembed.commands;

import io.pgembed.capture.ChangeLog;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.IdType;
import io.pgembed.db.Layout;
import io.pgembed.db.TableNames;
import io.pgembed.db.VectorType;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.TableOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code capture-sql}: prints, and changes nothing, the statements that install a source table's change log and
 * triggers ({@code --changeCapture=trigger}) and grant the job's role ({@code --username}, else the user it connects
 * as) what it needs on them: for a DBA to run as the table's owner when the job's role may not.
 *
 * <pre>{@code
 * runners/direct.sh capture-sql --jdbcUrl=jdbc:postgresql://db/app --sourceTable=artifacts --username=embedder
 * }</pre>
 */
public final class CaptureSqlCommand {
  private CaptureSqlCommand() {}

  /** The statements, each ending with a semicolon, in the order to run them. */
  public static List<String> statements(EmbeddingPipelineOptions o) throws Exception {
    TableNames names = TableOptions.tableNames(o);
    ChangeLog log = ChangeLog.of(names);
    Database db = DatabaseOptions.database(o);
    IdType id;
    String user;
    try (Connection c = db.connectReadOnly()) {
      id = EmbeddingSchema.sourceIdType(c, names);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user")) {
        rs.next();
        user = o.getUsername() != null ? o.getUsername() : rs.getString(1);
      }
    }
    List<String> out = new ArrayList<>();
    out.add("BEGIN;");
    for (String statement : log.ddl(new Layout(id, VectorType.REAL_ARRAY, 0))) {
      out.add(statement + ";");
    }
    for (String grant : log.grants(user)) {
      out.add(grant + ";");
    }
    out.add("COMMIT;");
    return out;
  }

  public static void run(EmbeddingPipelineOptions o) throws Exception {
    System.out.println("-- The change log of " + TableOptions.tableNames(o).source() + " (--changeCapture=trigger):"
        + " run as the table's owner.");
    statements(o).forEach(System.out::println);
  }
}
