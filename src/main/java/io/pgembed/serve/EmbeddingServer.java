package io.pgembed.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgembed.db.Database;
import io.pgembed.db.TableNames;
import io.pgembed.model.ModelSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code serve}'s HTTP server, on the JDK's own {@code HttpServer} with a pool of request threads: it listens at
 * once and loads the model behind ({@code GET /health} answers 503 {@code loading} meanwhile, and 503
 * {@code draining} once a stop began). Every answer is JSON (Prometheus text for {@code /metrics}); a client's
 * mistake is a 4xx with a message, never a stack trace; an unexpected failure is a 500 that is logged.
 *
 * <pre>{@code
 * try (EmbeddingServer s = EmbeddingServer.start(settings, spec, database, names)) {
 *   s.awaitModel();
 *   ... // serves until close(): stops listening, finishes what is in flight
 * }
 * }</pre>
 */
public final class EmbeddingServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingServer.class);

  static {
    // The JDK's server writes a response's headers and its body apart; with Nagle's algorithm on, the body waited
    // for the client's delayed ACK of the headers: 40 ms more per request on Linux (measured: p50 63 ms, of which
    // 18 ms in the handler). Read once, when the JVM's first HttpServer starts (runners/direct-jvm.args sets it too).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  /**
   * Where to listen, the limits, the key ({@code apiKey} null: none asked for), and hybrid search's text search
   * configuration.
   */
  public record Settings(String bind, int port, byte[] apiKey, int maxInputs, int maxBodyBytes, int maxQueuedInputs,
      int maxWaitMs, int httpThreads, int batchSize, int maxBatchTokens, int drainSeconds, String textSearchConfig) {}

  private final Settings settings;
  private final HttpServer server;
  private final ExecutorService threads;
  private final ServeMetrics metrics = new ServeMetrics();
  private final CompletableFuture<ServeRoutes> routes = new CompletableFuture<>();
  private volatile boolean draining;
  /** Requests being answered (health and metrics aside): a stop waits for them. */
  private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();

  private interface Route {
    Object answer(ServeRoutes r, byte[] body) throws Exception;
  }

  private EmbeddingServer(Settings settings) throws IOException {
    this.settings = settings;
    this.server = HttpServer.create(new InetSocketAddress(settings.bind(), settings.port()), 128);
    this.threads = Executors.newFixedThreadPool(settings.httpThreads(), r -> {
      Thread t = new Thread(r, "serve-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(threads);
  }

  /** Listens now, and loads the model (and checks the table, with a database) on a thread of its own. */
  public static EmbeddingServer start(Settings settings, ModelSpec spec, Database database, TableNames names)
      throws IOException {
    EmbeddingServer s = new EmbeddingServer(settings);
    s.context("/v1/embeddings", "POST", true, ServeRoutes::openAi);
    s.context("/embed", "POST", true, ServeRoutes::tei);
    s.context("/search", "POST", true, ServeRoutes::search);
    s.context("/info", "GET", true, (r, body) -> r.info());
    s.server.createContext("/health", s::health);
    s.server.createContext("/metrics", s::metrics);
    s.server.createContext("/", ex -> s.handle(ex, "other", "GET", false, (r, b) -> {
      throw new ApiError(404, "not_found", null, "no such route: " + ex.getRequestMethod() + " "
          + ex.getRequestURI().getPath() + " (routes: POST /v1/embeddings, POST /embed, POST /search, GET /info,"
          + " GET /health, GET /metrics)");
    }));
    s.server.start();
    Thread loader = new Thread(() -> {
      try {
        s.routes.complete(ServeRoutes.load(spec, settings, database, names, s.metrics));
      } catch (Throwable e) {
        LOG.error("The model could not be loaded: {}", e.toString());
        s.routes.completeExceptionally(e);
      }
    }, "serve-model-loader");
    loader.setDaemon(true);
    loader.start();
    return s;
  }

  /** The port listened on (the chosen one when started with 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Waits until the model is loaded; throws what its loading threw. */
  public void awaitModel() throws Exception {
    try {
      routes.get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : new IllegalStateException(e.getCause());
    }
  }

  public ServeMetrics metrics() {
    return metrics;
  }

  private void context(String path, String method, boolean auth, Route route) {
    server.createContext(path, ex -> handle(ex, path, method, auth, route));
  }

  private void handle(HttpExchange ex, String path, String method, boolean auth, Route route) throws IOException {
    long t0 = System.nanoTime();
    int status = 500;
    String label = path;
    inFlight.incrementAndGet();
    try {
      try {
        if (path.equals("other")) {
          route.answer(null, null); // throws the 404
        }
        if (!ex.getRequestURI().getPath().equals(path)) {
          throw new ApiError(404, "not_found", null, "no such route: " + ex.getRequestMethod() + " "
              + ex.getRequestURI().getPath());
        }
        if (!ex.getRequestMethod().equals(method)) {
          ex.getResponseHeaders().set("Allow", method);
          throw new ApiError(405, "invalid_request_error", null, path + " takes " + method + ", not "
              + ex.getRequestMethod());
        }
        if (auth && !authorized(ex)) {
          ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
          throw new ApiError(401, "authentication_error", null, "this server needs 'Authorization: Bearer <key>'"
              + " with the key of its --apiKeyFile");
        }
        if (draining) {
          throw new ApiError(503, "unavailable", null, "the server is stopping");
        }
        if (!routes.isDone()) {
          ex.getResponseHeaders().set("Retry-After", "1");
          throw new ApiError(503, "unavailable", null, "the model is loading; GET /health says when it is ready");
        }
        if (routes.isCompletedExceptionally()) {
          throw new ApiError(503, "unavailable", null, "the model failed to load; see the server's log");
        }
        byte[] body = method.equals("POST") ? body(ex) : new byte[0];
        Object answer = route.answer(routes.join(), body);
        status = 200;
        send(ex, 200, "application/json", ServeRoutes.json(answer));
      } catch (ApiError e) {
        status = e.status();
        if (status == 429) {
          ex.getResponseHeaders().set("Retry-After", "1");
        }
        send(ex, status, "application/json", ServeRoutes.error(path, e));
      } catch (Exception | Error e) {
        LOG.warn("{} {} failed: {}", method, label, e.toString(), e);
        status = 500;
        send(ex, 500, "application/json", ServeRoutes.error(path, new ApiError(500, "server_error", null,
            "the server failed to answer: " + e.getClass().getSimpleName())));
      }
    } catch (IOException clientGone) {
      LOG.debug("{} {}: the client went away: {}", method, label, clientGone.toString());
    } finally {
      metrics.request(label, status, System.nanoTime() - t0);
      ex.close();
      inFlight.decrementAndGet();
    }
  }

  /** The body, at most --maxBodyBytes (413 beyond). */
  private byte[] body(HttpExchange ex) throws IOException {
    int max = settings.maxBodyBytes();
    String length = ex.getRequestHeaders().getFirst("Content-Length");
    if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > max) {
      throw new ApiError(413, "invalid_request_error", null, "the body has " + length + " bytes, more than the " + max
          + " a request may (--maxBodyBytes)");
    }
    try (InputStream in = ex.getRequestBody()) {
      byte[] bytes = in.readNBytes(max + 1);
      if (bytes.length > max) {
        throw new ApiError(413, "invalid_request_error", null, "the body is longer than the " + max + " bytes a"
            + " request may (--maxBodyBytes)");
      }
      return bytes;
    }
  }

  /** The bearer token against the key, in constant time (both hashed first: equal lengths). */
  private boolean authorized(HttpExchange ex) {
    if (settings.apiKey() == null) {
      return true;
    }
    String header = ex.getRequestHeaders().getFirst("Authorization");
    String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] a = sha.digest(given.getBytes(StandardCharsets.UTF_8));
      byte[] b = sha.digest(settings.apiKey());
      return MessageDigest.isEqual(a, b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void health(HttpExchange ex) throws IOException {
    long t0 = System.nanoTime();
    String status = draining ? "draining" : !routes.isDone() ? "loading"
        : routes.isCompletedExceptionally() ? "failed" : "ready";
    int code = status.equals("ready") ? 200 : 503;
    try {
      send(ex, code, "application/json", "{\"status\":\"" + status + "\"}\n");
    } finally {
      metrics.request("/health", code, System.nanoTime() - t0);
      ex.close();
    }
  }

  private void metrics(HttpExchange ex) throws IOException {
    long t0 = System.nanoTime();
    try {
      send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.render());
    } finally {
      metrics.request("/metrics", 200, System.nanoTime() - t0);
      ex.close();
    }
  }

  /** Answers {@code ex} with {@code body} as UTF-8 of {@code type}: what the worker's endpoints send too. */
  public static void send(HttpExchange ex, int code, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  /**
   * Stops: /health says draining (503) and new requests get 503 while the requests in flight are answered (at most
   * --drainSeconds), then the listener closes, the model threads finish and the model is released.
   */
  @Override
  public void close() throws InterruptedException {
    draining = true;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(settings.drainSeconds());
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(10); // the interval between looks at the requests in flight
    }
    server.stop(0);
    threads.shutdown();
    threads.awaitTermination(settings.drainSeconds(), TimeUnit.SECONDS);
    if (routes.isDone() && !routes.isCompletedExceptionally()) {
      routes.join().close();
    }
  }
}
