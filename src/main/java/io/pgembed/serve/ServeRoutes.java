package io.pgembed.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.db.Database;
import io.pgembed.db.TableNames;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.Tokenized;
import io.pgembed.search.VectorSearch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What {@code serve}'s routes answer, once the model is loaded: OpenAI's embeddings, TEI's {@code /embed} and
 * {@code /info}, and {@code /search} over the table when started with one. Every vector comes from the served
 * model spec through the {@link Batcher}, so a query is embedded exactly as the job embedded the stored rows.
 */
final class ServeRoutes implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelSpec spec;
  private final EmbeddingServer.Settings settings;
  private final Batcher batcher;
  private final ServeMetrics metrics;
  private final Database database;
  private final TableNames names;
  private final String id;
  private final String fingerprint;
  /** TEI's normalize=false on a normalizing model: the same weights unnormalized, loaded when first asked for. */
  private Batcher raw;

  private ServeRoutes(ModelSpec spec, EmbeddingServer.Settings settings, Batcher batcher, ServeMetrics metrics,
      Database database, TableNames names) {
    this.spec = spec;
    this.settings = settings;
    this.batcher = batcher;
    this.metrics = metrics;
    this.database = database;
    this.names = names;
    this.id = batcher.model().fingerprint().name();
    this.fingerprint = batcher.model().fingerprint().toString();
  }

  static ServeRoutes load(ModelSpec spec, EmbeddingServer.Settings s, Database database, TableNames names,
      ServeMetrics metrics) {
    Batcher b = Batcher.start(spec, s.batchSize(), s.maxBatchTokens(), s.maxQueuedInputs(), s.maxWaitMs(), metrics);
    metrics.queue(b::queued);
    return new ServeRoutes(spec, s, b, metrics, database, names);
  }

  /** {@code POST /v1/embeddings}: OpenAI's request and response; texts over the model's length are cut as the job cuts. */
  Object openAi(byte[] body) throws Exception {
    ServeRequests.OpenAi r = ServeRequests.openAi(body, settings.maxInputs());
    if (!r.model().equals(id) && !r.model().equals(fingerprint)) {
      throw new ApiError(404, "invalid_request_error", "model", "the model '" + r.model() + "' is not served here:"
          + " this server embeds with '" + id + "' (fingerprint '" + fingerprint + "'); send that as model");
    }
    int dim = batcher.model().dimension();
    if (r.dimensions() != null && r.dimensions() != dim) {
      throw ApiError.badRequest("dimensions", "this model's vectors have " + dim + " dimensions; dimensions="
          + r.dimensions() + " cannot change that (leave it out)");
    }
    Embedded e = embed(batcher, r.input(), true);
    List<Map<String, Object>> data = new ArrayList<>();
    for (int i = 0; i < e.vectors().length; i++) {
      Map<String, Object> item = new LinkedHashMap<>();
      item.put("object", "embedding");
      item.put("index", i);
      item.put("embedding", r.base64() ? base64(e.vectors()[i]) : e.vectors()[i]);
      data.add(item);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("object", "list");
    out.put("data", data);
    out.put("model", id);
    out.put("usage", Map.of("prompt_tokens", e.tokens(), "total_tokens", e.tokens()));
    return out;
  }

  /** {@code POST /embed}: TEI's request and response. */
  Object tei(byte[] body) throws Exception {
    ServeRequests.Tei r = ServeRequests.tei(body, settings.maxInputs());
    boolean normalized = batcher.model().fingerprint().normalize();
    float[][] vectors;
    if (!r.normalize() && normalized) {
      vectors = embed(raw(), r.inputs(), r.truncate()).vectors();
    } else {
      vectors = embed(batcher, r.inputs(), r.truncate()).vectors();
      if (r.normalize() && !normalized) {
        for (float[] v : vectors) {
          normalize(v);
        }
      }
    }
    return vectors;
  }

  /** {@code GET /info}: TEI's field names, and what makes the vectors comparable. */
  Object info() {
    EmbeddingModel m = batcher.model();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("model_id", id);
    out.put("model_sha", m.fingerprint().weightsSha256());
    out.put("model_type", Map.of("embedding", Map.of("pooling", m.fingerprint().pooling().toString().toLowerCase())));
    out.put("fingerprint", fingerprint);
    out.put("dimension", m.dimension());
    out.put("pooling", m.fingerprint().pooling().toString().toLowerCase());
    out.put("normalize", m.fingerprint().normalize());
    out.put("max_input_length", m.tokenizer().maxLength());
    out.put("max_batch_tokens", settings.maxBatchTokens() > 0 ? settings.maxBatchTokens() : Batcher.COLLECT_TOKENS);
    out.put("max_batch_requests", settings.batchSize());
    out.put("max_client_batch_size", settings.maxInputs());
    out.put("max_concurrent_requests", settings.httpThreads());
    out.put("search", names == null ? null : names.target().toString());
    return out;
  }

  /** {@code POST /search}: the table's nearest rows to the query, of the served model's vectors only. */
  Object search(byte[] body) throws Exception {
    if (database == null) {
      throw new ApiError(404, "not_found", null, "POST /search needs serve started with --jdbcUrl and --sourceTable"
          + " (and the table options of the run that embedded it)");
    }
    ServeRequests.Search r = ServeRequests.search(body);
    float[] query = embed(batcher, List.of(r.query()), true).vectors()[0];
    List<VectorSearch.Hit> hits = r.mode() == io.pgembed.search.SearchMode.HYBRID
        ? VectorSearch.hybrid(database, names, settings.textSearchConfig(), query, r.query(), fingerprint, r.fusion())
        : VectorSearch.search(database, names, query, fingerprint, r.fusion().top());
    if (hits.isEmpty()) {
      List<String> held = VectorSearch.fingerprintsHeld(database, names, 5);
      if (!held.contains(fingerprint)) {
        throw new ApiError(409, "model_mismatch", null, names.target() + " holds no vectors of the served model ("
            + fingerprint + ")" + (held.isEmpty() ? ", and none at all: run the job first" : "; it holds vectors of "
            + String.join(", ", held) + ": serve the model that embedded it, or run the job with this one"));
      }
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (VectorSearch.Hit h : hits) {
      Map<String, Object> hit = new LinkedHashMap<>();
      hit.put("id", h.id());
      hit.put(r.mode() == io.pgembed.search.SearchMode.HYBRID ? "score" : "similarity", h.score());
      hit.put("text", h.text());
      out.add(hit);
    }
    return Map.of("model", fingerprint, "mode", r.mode().label(), "hits", out);
  }

  /** Vectors in input order, and the tokens the model read. */
  private record Embedded(float[][] vectors, long tokens) {}

  private Embedded embed(Batcher b, List<String> texts, boolean truncate) throws Exception {
    List<CompletableFuture<float[]>> futures;
    List<Tokenized> tokens;
    b.arriving();
    try {
      tokens = b.model().tokenizer().tokenize(texts);
      if (!truncate) {
        for (int i = 0; i < tokens.size(); i++) {
          if (tokens.get(i).truncated()) {
            int given = b.model().tokenizer().countWhole(texts.get(i)) + b.model().tokenizer().specialTokens();
            throw new ApiError(413, "Validation", "inputs", "Input validation error: `inputs` must have less than "
                + b.model().tokenizer().maxLength() + " tokens. Given: " + given + " (input " + i + "; send"
                + " \"truncate\": true to cut it as the job does)");
          }
        }
      }
      futures = b.submit(tokens);
    } finally {
      b.arrived();
    }
    if (futures == null) {
      throw new ApiError(429, "rate_limit_error", null, "the server's queue is full (--maxQueuedInputs="
          + settings.maxQueuedInputs() + " inputs waiting): retry after a second");
    }
    float[][] vectors = new float[texts.size()][];
    long sum = 0;
    for (int i = 0; i < vectors.length; i++) {
      try {
        vectors[i] = futures.get(i).get(5, TimeUnit.MINUTES);
      } catch (ExecutionException e) {
        throw new IllegalStateException("the forward pass failed: " + e.getCause(), e.getCause());
      } catch (TimeoutException e) {
        throw new ApiError(503, "unavailable", null, "the model did not answer within 5 minutes");
      }
      sum += tokens.get(i).length();
    }
    return new Embedded(vectors, sum);
  }

  private synchronized Batcher raw() {
    if (raw == null) {
      if (!(spec instanceof ModelLoader loader)) {
        throw ApiError.badRequest("normalize", "normalize=false is not available for this model");
      }
      raw = Batcher.start(loader.withNormalize(false), settings.batchSize(), settings.maxBatchTokens(),
          settings.maxQueuedInputs(), settings.maxWaitMs(), metrics);
    }
    return raw;
  }

  private static void normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    double norm = Math.max(Math.sqrt(sum), 1e-12);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] / norm);
    }
  }

  /** OpenAI's base64: the float32 components, little-endian. */
  static String base64(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    return Base64.getEncoder().encodeToString(b.array());
  }

  static String json(Object answer) throws JsonProcessingException {
    return JSON.writeValueAsString(answer) + "\n";
  }

  /** The error body: TEI's shape on {@code /embed}, OpenAI's elsewhere. */
  static String error(String path, ApiError e) {
    Map<String, Object> body = new LinkedHashMap<>();
    if (path.equals("/embed")) {
      body.put("error", e.getMessage());
      body.put("error_type", e.type());
    } else {
      Map<String, Object> inner = new LinkedHashMap<>();
      inner.put("message", e.getMessage());
      inner.put("type", e.type());
      inner.put("param", e.param());
      inner.put("code", e.status() == 404 && "model".equals(e.param()) ? "model_not_found" : null);
      body.put("error", inner);
    }
    try {
      return JSON.writeValueAsString(body) + "\n";
    } catch (JsonProcessingException impossible) {
      return "{\"error\":{\"message\":\"error\"}}\n";
    }
  }

  @Override
  public void close() throws InterruptedException {
    batcher.close();
    synchronized (this) {
      if (raw != null) {
        raw.close();
      }
    }
  }
}
