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
 * one JVM: {@code runners/bench-serve.sh [--clients=1,4,16,64] [--seconds=15] [--texts=4000]}. Each client sends one
 * short query per request ({@code POST /v1/embeddings}, base64 as the official clients ask) and the next when it
 * is answered, for {@code seconds} per level (at most 200,000 requests); printed per level: requests/s, latency
 * p50/p95/p99, mean inputs per forward pass; at the largest level also {@code GET /health}'s p99, asked every 20 ms
 * while the server is saturated; and the largest level's requests/s over {@code embed}'s texts/s.
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
    ModelLoader spec = ModelLoader.builder().device("cpu").build();

    double embedRate = embedBaseline(spec, queries);
    System.out.printf("embed command: %d short queries, %.1f texts/s%n", n, embedRate);

    ServeOptions o = OptionSources.parse(new String[] {"--port=0", "--device=cpu"}, Map.of(), ServeOptions.class);
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
    System.out.printf("serve at %d clients over embed: %.2f (requests of one query each, per second, over texts/s)%n",
        levels[levels.length - 1], last / embedRate);
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
    long passes0 = server.metrics().forwardPassCount();
    long inputs0 = server.metrics().inputCount();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<List<Long>>> results = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      results.add(pool.submit(() -> {
        List<Long> latencies = new ArrayList<>();
        while (System.nanoTime() < end && next.get() < 200_000) {
          String q = queries.get(next.getAndIncrement() % queries.size());
          HttpRequest r = HttpRequest.newBuilder(embeddings).POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"all-minilm-l6-v2\",\"encoding_format\":\"base64\",\"input\":\"" + q + "\"}")).build();
          long s = System.nanoTime();
          HttpResponse<String> a = http.send(r, HttpResponse.BodyHandlers.ofString());
          if (a.statusCode() != 200) {
            throw new IllegalStateException(a.statusCode() + " " + a.body());
          }
          latencies.add(System.nanoTime() - s);
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
    if (print || clients > 0) {
      System.out.printf("%3d clients: %,d requests in %.1f s, %.1f requests/s, latency p50 %.1f ms, p95 %.1f ms, p99"
          + " %.1f ms, mean %.1f inputs per forward pass%s%n", clients, all.size(), wall, rate, pct(all, 50),
          pct(all, 95), pct(all, 99), batch, print ? String.format(", /health p99 %.1f ms (%d checks)",
              pct(healthLatencies, 99), healthLatencies.size()) : "");
    }
    return rate;
  }

  private static double pct(List<Long> nanos, int p) {
    if (nanos.isEmpty()) {
      return 0;
    }
    long[] v = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return v[Math.min(v.length - 1, (int) Math.ceil(p / 100.0 * v.length) - 1)] / 1e6;
  }
}
