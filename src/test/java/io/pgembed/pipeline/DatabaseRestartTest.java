package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static io.pgembed.db.TestDatabase.count;
import static io.pgembed.PipelineTestSupport.execute;
import static io.pgembed.PipelineTestSupport.insert;
import static io.pgembed.PipelineTestSupport.options;
import static io.pgembed.PipelineTestSupport.vectors;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import io.pgembed.Await;
import io.pgembed.model.InjectedFaults;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TokenHashModel;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * The database server stops and starts again (same port, same data) while a run is writing: the wave that lost its
 * connections is tried again, the run completes, and every row is in the table once, with its exact vector; no
 * failure is recorded.
 */
public class DatabaseRestartTest {
  private static final TokenHashModel MODEL = TokenHashModel.small();

  private static EmbeddedPostgres start(int port, Path data) throws Exception {
    return EmbeddedPostgres.builder().setPort(port).setDataDirectory(data).setCleanDataDirectory(false).start();
  }

  @Test
  public void aRestartMidRunIsRiddenOutAndNothingIsLostOrDuplicated() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path data = Files.createTempDirectory("pg-restart");
    EmbeddedPostgres pg = start(port, data);
    try {
      String db = pg.getJdbcUrl("postgres", "postgres");
      execute(db, "CREATE TABLE docs (id bigint PRIMARY KEY, content text)");
      Map<Long, String> rows = new LinkedHashMap<>();
      for (long i = 1; i <= 800; i++) {
        // One poison row in every wave of 100: each must end with one failure and one attempt.
        rows.put(i, (i % 100 == 50 ? "POISON " : "") + "row " + i + " written across a restart "
            + "z ".repeat((int) (i % 5)));
      }
      insert(db, "docs", rows);
      // Slow forward passes (100 ms each, 16 rows) so that the run is mid-table when the server goes down.
      ModelSpec slow = InjectedFaults.of(MODEL).slowMillis(100).failOnTextMatching("^POISON");
      EmbeddingPipelineOptions o = options(db, "--sourceTable=docs", "--maxInFlightRows=100", "--batchSize=16",
          "--maxBufferingMs=100");
      CompletableFuture<RunReport> run = PipelineTestSupport.runWholeAsync(o, slow);
      Await.await("200 rows written", 120, () -> written(db) >= 200);
      pg.close(); // a fast shutdown: the run's sessions are cut
      long writtenBefore;
      pg = start(port, data);
      writtenBefore = written(db);
      assertThat("the restart came mid-run", writtenBefore, lessThan(800L));

      RunReport r = run.get(300, TimeUnit.SECONDS);
      assertEquals(r.error(), RunStatus.COMPLETE, r.status());
      assertEquals("the 8 poison rows, with attempts left", 8, r.stillPending());
      Map<String, float[]> stored = vectors(db, "docs_embeddings");
      assertEquals(792, stored.size());
      for (Map.Entry<Long, String> e : rows.entrySet()) {
        if (e.getKey() % 100 != 50) {
          assertArrayEquals("row " + e.getKey(), MODEL.vectorOf(e.getValue()), stored.get(e.getKey().toString()), 0f);
        }
      }
      // A wave tried again keeps its read time: a poison row written by both tries is one attempt.
      assertEquals(8, count(db, "SELECT count(*) FROM embedding_failures WHERE attempts = 1"
          + " AND artifact_id::bigint % 100 = 50"));
      assertEquals(8, count(db, "SELECT count(*) FROM embedding_failures"));
    } finally {
      pg.close();
    }
  }

  private static long written(String db) {
    try {
      return count(db, "SELECT count(*) FROM docs_embeddings");
    } catch (java.sql.SQLException e) {
      return -1; // the server is down
    }
  }
}
