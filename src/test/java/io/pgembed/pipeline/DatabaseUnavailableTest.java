package io.pgembed.pipeline;

import io.pgembed.PipelineTestSupport;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import io.pgembed.db.TestDatabase;
import java.net.ServerSocket;
import org.junit.Test;

/**
 * A database that cannot be reached or refuses the connection at start-up: one line that names the host, port and
 * database, exit code 4, nothing read and no model loaded first.
 */
public class DatabaseUnavailableTest {
  @Test
  public void aPortWithNoServerGivesOneLineNamingHostAndPortAndExit4() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nothing listens there
    }
    long t0 = System.nanoTime();
    String[] out = PipelineTestSupport.launch("run", "--jdbcUrl=jdbc:postgresql://localhost:" + port + "/app", "--sourceTable=docs");
    assertEquals(out[1], "4", out[0]);
    assertEquals("one line: " + out[1], 1, out[1].strip().lines().count());
    assertThat(out[1], containsString("error: cannot connect to PostgreSQL at localhost:" + port + "/app"));
    assertThat(out[1], containsString("SQLState 08001"));
    assertThat(out[1], containsString("Check --jdbcUrl's host and port"));
    // The database is checked before the model loads (seconds on a CPU): the refusal comes at once.
    assertThat((System.nanoTime() - t0) / 1_000_000_000.0, org.hamcrest.Matchers.lessThan(5.0));
  }

  @Test
  public void aMissingDatabaseIsNamedWithExit4() throws Exception {
    String url = TestDatabase.newDatabase("present").replaceAll("/present_[0-9]+", "/absent_db");
    String[] out = PipelineTestSupport.launch("run", "--jdbcUrl=" + url, "--sourceTable=docs");
    assertEquals(out[1], "4", out[0]);
    assertEquals("one line: " + out[1], 1, out[1].strip().lines().count());
    assertThat(out[1], containsString("has no such database"));
    assertThat(out[1], containsString("/absent_db"));
    assertThat(out[1], containsString("SQLState 3D000"));
  }
}
