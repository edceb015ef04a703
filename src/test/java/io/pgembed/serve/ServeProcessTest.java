package io.pgembed.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.Await;
import io.pgembed.MainProcess;
import io.pgembed.PipelineTestSupport;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

/** {@code serve} as a user runs it: ready on its port, stopped by SIGTERM with exit 0; a bad option is exit 2. */
public class ServeProcessTest {
  @Test
  public void sigtermStopsItWithExitZero() throws Exception {
    Path logs = Path.of("target", "worker-logs");
    long before = System.currentTimeMillis();
    Process p = MainProcess.start("serve", "1g", List.of("serve", "--port=0", "--device=cpu"));
    try {
      Path[] log = {null};
      Pattern ready = Pattern.compile("serve: ready on http://127\\.0\\.0\\.1:(\\d+)");
      String[] port = {null};
      Await.await("serve to say it is ready", 120, () -> {
        try (var files = Files.list(logs)) {
          for (Path f : files.filter(f -> f.getFileName().toString().startsWith("serve-")
              && f.toFile().lastModified() >= before - 1000).toList()) {
            Matcher m = ready.matcher(Files.readString(f));
            if (m.find()) {
              log[0] = f;
              port[0] = m.group(1);
              return true;
            }
          }
          return false;
        } catch (java.io.IOException e) {
          return false;
        }
      });
      HttpResponse<String> r = ServeTestSupport.HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + port[0] + "/embed")).POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": \"hello\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      p.destroy(); // SIGTERM
      assertTrue("exited", p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(Files.readString(log[0]), 0, p.exitValue());
      assertThat(Files.readString(log[0]), containsString("serve: stopped"));
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  public void aMissingKeyFileIsExitTwoNamingIt() throws Exception {
    String[] r = PipelineTestSupport.launch("serve", "--port=0", "--apiKeyFile=/nonexistent/key");
    assertEquals(r[1], "2", r[0]);
    assertThat(r[1], containsString("error: --apiKeyFile=/nonexistent/key does not exist or cannot be read"));
  }
}
