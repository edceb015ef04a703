package io.pgembed.bench;

import io.pgembed.commands.EmbedCommand;
import io.pgembed.commands.ServeCommand;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.options.OptionSources;
import io.pgembed.options.ServeOptions;
import io.pgembed.serve.EmbeddingServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code serve} under closed-loop clients on the loopback, against the {@code embed} command on the same texts, in
 * one JVM: {@code runners/bench-serve.sh [--clients=1,4,16,64] [--seconds=15] [--texts=4000] [serve's options]}. Each client sends one
 * short query per request ({@code POST /v1/embeddings}, base64 as the official clients ask) and the next when it
 * is answered, for {@code seconds} per level (at most 200,000 requests), on a keep-alive connection of its own
 * ({@link LoadClient}: a load generator as light as can be, so that the two cores go to the server, not to the
 * clients; the tests call serve with the official OpenAI client); printed per level: requests/s, latency
 * p50/p95/p99, mean inputs per forward pass; at the largest level also {@code GET /health}'s p99, asked every 20 ms
 * while the server is saturated. {@code --mode=embed} measures the {@code embed} command on the same texts instead
 * (bench-serve.sh runs it before and after, each in a JVM of its own, and prints the ratio).
 */
public final class ServeBenchmark {
  private ServeBenchmark() {}

  public static void main(String[] args) throws Exception {
    int[] levels = Arrays.stream(stringArg(args, "clients", "1,4,16,64").split(",")).mapToInt(Integer::parseInt)
        .toArray();
    int seconds = EncoderBenchmark.intArg(args, "seconds", 15);
    int n = EncoderBenchmark.intArg(args, "texts", 4000);
    List<String> queries = new ArrayList<>();
    String[] topics = {"passwords", "vector search", "a PostgreSQL index", "retries with backoff", "TLS certificates",
        "the change log", "batch sizes", "a GPU", "JSON parsing", "gitignore patterns"};
    for (int i = 0; i < n; i++) {
      queries.add("how do I handle " + topics[i % topics.length] + " in project " + i);
    }
    // Any other --option is serve's (and the model spec's, for embed too): --intraOpThreads=1, --maxWaitMs=5, ...
    List<String> serveArgs = new ArrayList<>(List.of("--port=0", "--device=cpu"));
    for (String a : args) {
      if (!a.startsWith("--clients=") && !a.startsWith("--seconds=") && !a.startsWith("--texts=")
          && !a.startsWith("--mode=")) {
        serveArgs.add(a);
      }
    }
    ServeOptions o = OptionSources.parse(serveArgs.toArray(new String[0]), Map.of(), ServeOptions.class);
    ServeCommand.defaultWorkers(o, serveArgs.stream().anyMatch(a -> a.startsWith("--workers")));
    ModelLoader spec = io.pgembed.options.ModelOptions.loaderOf(o);
    if (stringArg(args, "mode", "serve").equals("embed")) {
      // In a JVM of its own (libtorch's thread teams of one process slowed the other's forward passes), with the
      // embed command's defaults: serve's options do not make the baseline slower.
      System.out.printf("embed command: %d short queries, %.1f texts/s%n", n,
          embedBaseline(ModelLoader.builder().device("cpu").build(), queries));
      return;
    }

    double last = 0;
    try (EmbeddingServer server = ServeCommand.start(o, spec)) {
      server.awaitModel();
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      URI embeddings = URI.create("http://127.0.0.1:" + server.port() + "/v1/embeddings");
      URI health = URI.create("http://127.0.0.1:" + server.port() + "/health");
      level(http, embeddings, health, queries, 4, 3, server, false); // warm-up, not printed
      for (int i = 0; i < levels.length; i++) {
        last = level(http, embeddings, health, queries, levels[i], seconds, server, i == levels.length - 1);
      }
    }
    System.out.printf("serve at %d clients: %.1f requests/s%n", levels[levels.length - 1], last);
  }

  private static String stringArg(String[] args, String name, String fallback) {
    for (String a : args) {
      if (a.startsWith("--" + name + "=")) {
        return a.substring(name.length() + 3);
      }
    }
    return fallback;
  }

  /** The embed command's texts/s on the same queries (JSON Lines in and out, its default batching), best of two. */
  private static double embedBaseline(ModelLoader spec, List<String> queries) throws Exception {
    Path dir = Files.createTempDirectory("bench-serve");
    Path in = dir.resolve("in.jsonl");
    StringBuilder sb = new StringBuilder();
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    for (int i = 0; i < queries.size(); i++) {
      sb.append(json.writeValueAsString(Map.of("id", i, "text", queries.get(i)))).append('\n');
    }
    Files.writeString(in, sb);
    double best = 0;
    try (EmbeddingModel m = spec.load(); EmbeddingPredictor p = m.newPredictor()) {
      for (int round = 0; round < 2; round++) {
        EmbedCommand.Summary s = EmbedCommand.run(p, in, dir.resolve("out.jsonl"), 32, 2048, 1024);
        best = Math.max(best, s.textsPerSecond());
      }
    }
    return best;
  }

  /** One level of closed-loop clients; returns its requests/s. */
  private static double level(HttpClient http, URI embeddings, URI health, List<String> queries, int clients,
      int seconds, EmbeddingServer server, boolean print) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(clients + 1);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger next = new AtomicInteger();
    double[] server0 = serverSide(server);
    long passes0 = server.metrics().forwardPassCount();
    long inputs0 = server.metrics().inputCount();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<List<Long>>> results = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      results.add(pool.submit(() -> {
        List<Long> latencies = new ArrayList<>();
        try (LoadClient client = new LoadClient(embeddings.getPort())) {
          while (System.nanoTime() < end && next.get() < 200_000) {
            String q = queries.get(next.getAndIncrement() % queries.size());
            long s = System.nanoTime();
            client.post("/v1/embeddings", "{\"model\":\"all-minilm-l6-v2\",\"encoding_format\":\"base64\","
                + "\"input\":\"" + q + "\"}");
            latencies.add(System.nanoTime() - s);
          }
        }
        return latencies;
      }));
    }
    Future<List<Long>> healthChecks = pool.submit(() -> {
      List<Long> latencies = new ArrayList<>();
      while (print && System.nanoTime() < end) {
        long s = System.nanoTime();
        http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.discarding());
        latencies.add(System.nanoTime() - s);
        TimeUnit.MILLISECONDS.sleep(20); // the health checker's interval, as a load balancer's
      }
      return latencies;
    });
    List<Long> all = new ArrayList<>();
    for (Future<List<Long>> f : results) {
      all.addAll(f.get());
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    List<Long> healthLatencies = healthChecks.get();
    pool.shutdown();
    double rate = all.size() / wall;
    long passes = server.metrics().forwardPassCount() - passes0;
    double batch = passes == 0 ? 0 : (double) (server.metrics().inputCount() - inputs0) / passes;
    double[] server1 = serverSide(server);
    double serverMs = (server1[0] - server0[0]) / Math.max(1, server1[1] - server0[1]) * 1000;
    if (print || clients > 0) {
      System.out.printf("%3d clients: %,d requests in %.1f s, %.1f requests/s, latency p50 %.1f ms, p95 %.1f ms, p99"
          + " %.1f ms (in the server: mean %.1f ms), mean %.1f inputs per forward pass%s%n", clients, all.size(), wall,
          rate, pct(all, 50), pct(all, 95), pct(all, 99), serverMs, batch, print ? String.format(", /health p99 %.1f ms (%d checks)",
              pct(healthLatencies, 99), healthLatencies.size()) : "");
    }
    return rate;
  }

  /** The server's own sum of /v1/embeddings request seconds, and their count, from its /metrics. */
  private static double[] serverSide(EmbeddingServer server) {
    double sum = 0;
    double count = 0;
    for (String line : server.metrics().render().split("\n")) {
      if (line.startsWith("pgembed_serve_request_duration_seconds_sum{route=\"/v1/embeddings\"}")) {
        sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      } else if (line.startsWith("pgembed_serve_request_duration_seconds_count{route=\"/v1/embeddings\"}")) {
        count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return new double[] {sum, count};
  }

  private static double pct(List<Long> nanos, int p) {
    if (nanos.isEmpty()) {
      return 0;
    }
    long[] v = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return v[Math.min(v.length - 1, (int) Math.ceil(p / 100.0 * v.length) - 1)] / 1e6;
  }
}
