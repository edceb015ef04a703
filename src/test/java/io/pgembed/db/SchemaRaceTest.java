package io.pgembed.db;

import static org.junit.Assert.assertEquals;

import io.pgembed.Await;
import io.pgembed.PipelineTestSupport;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * Two runs (two queue workers) creating the shared failures table at once: CREATE TABLE IF NOT EXISTS is not atomic
 * against another session's, so the second waits on the first's uncommitted catalog row and then fails on the
 * catalog's unique index (23505). The run treats it as the table being there. Found by {@code WorkerProcessesTest}:
 * two worker JVMs starting their first jobs together.
 */
public class SchemaRaceTest {

  @Test
  public void aRunThatLosesTheRaceToCreateTheFailuresTableUsesTheWinnersTable() throws Exception {
    String db = TestDatabase.newDatabase("schemarace");
    PipelineTestSupport.execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
    EmbeddingTables tables = new EmbeddingTables(
        TableNames.of("docs", "id", "content", null, null, "embedding", "embedding_failures"), 3, 100);
    try (Connection winner = PipelineTestSupport.connect(db)) {
      winner.setAutoCommit(false);
      try (Statement s = winner.createStatement()) {
        s.execute(tables.createFailuresStatement());
      }
      // The other run's DDL waits for the winner's transaction: held there, not raced.
      CompletableFuture<Layout> loser = CompletableFuture.supplyAsync(() -> {
        try (Connection c = PipelineTestSupport.connect(db)) {
          return EmbeddingSchema.prepare(c, tables, 2);
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      Await.await("the other run's CREATE waiting for the first's", 60, () -> TestDatabase.lockWaits(db) == 1);
      winner.commit();
      Layout layout = loser.get(60, TimeUnit.SECONDS);
      assertEquals(VectorType.REAL_ARRAY, layout.vectorType());
    }
    assertEquals(1, TestDatabase.count(db, "SELECT count(*) FROM pg_class WHERE relname IN ('embedding_failures')"));
    assertEquals(1, TestDatabase.count(db, "SELECT count(*) FROM pg_class WHERE relname IN ('docs_embeddings')"));
  }
}
