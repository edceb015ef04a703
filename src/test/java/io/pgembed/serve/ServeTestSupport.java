package io.pgembed.serve;

import io.pgembed.commands.ServeCommand;
import io.pgembed.model.ModelSpec;
import io.pgembed.options.OptionSources;
import io.pgembed.options.ServeOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Starting {@code serve} in the test's JVM, calling it, and the real OpenAI client for Node. */
final class ServeTestSupport {
  static final HttpClient HTTP = HttpClient.newHttpClient();
  /** The version of the npm package "openai" the tests call serve with. */
  static final String OPENAI_NPM = "openai@7.55.0";

  private ServeTestSupport() {}

  /** {@code serve --port=0 ARGS} with {@code spec}, its model loaded. */
  static EmbeddingServer start(ModelSpec spec, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("--port=0", "--device=cpu"));
    all.addAll(List.of(args));
    ServeOptions o = OptionSources.parse(all.toArray(new String[0]), Map.of(), ServeOptions.class);
    EmbeddingServer s = ServeCommand.start(o, spec);
    s.awaitModel();
    return s;
  }

  static HttpResponse<String> post(EmbeddingServer s, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> get(EmbeddingServer s, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * The node_modules holding the official OpenAI client: {@code .ci/run} installs it into target/ci-node-openai;
   * elsewhere this installs it there from npm the first time (node and npm must be on the PATH).
   */
  static Path openAiNodeModules() throws Exception {
    Path prefix = Path.of("target", "ci-node-openai").toAbsolutePath();
    Path modules = prefix.resolve("node_modules");
    if (!Files.isRegularFile(modules.resolve("openai").resolve("package.json"))) {
      Process p = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix",
          prefix.toString(), OPENAI_NPM).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException("npm install " + OPENAI_NPM + " failed: " + out);
      }
    }
    return modules;
  }
}
