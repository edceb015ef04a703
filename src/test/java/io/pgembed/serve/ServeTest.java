package io.pgembed.serve;

import static io.pgembed.serve.ServeTestSupport.get;
import static io.pgembed.serve.ServeTestSupport.post;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.HeldModel;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * {@code serve} in the test's JVM with the bundled model: TEI's shapes, bad input (each with its status and message,
 * the server answering /health afterwards), many clients at once getting exactly their own vectors, /info and
 * /metrics, and a stop that answers what is in flight.
 */
public class ServeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ModelSpec SPEC = ModelLoader.builder().device("cpu").build();
  private static EmbeddingServer server;
  private static EmbeddingModel model;
  private static EmbeddingPredictor predictor;

  @BeforeClass
  public static void start() throws Exception {
    server = ServeTestSupport.start(SPEC, "--maxInputs=8", "--maxBodyBytes=20000");
    model = SPEC.load();
    predictor = model.newPredictor();
  }

  @AfterClass
  public static void stop() throws Exception {
    server.close();
    predictor.close();
    model.close();
  }

  private static float[] expected(String text) {
    return predictor.embedTexts(List.of(text))[0];
  }

  private static void assertVector(String what, float[] expected, JsonNode actual) {
    assertEquals(what, expected.length, actual.size());
    for (int k = 0; k < expected.length; k++) {
      assertEquals(what + " component " + k, expected[k], actual.get(k).asDouble(), 1e-5);
    }
  }

  @Test
  public void teiShapes() throws Exception {
    HttpResponse<String> one = post(server, "/embed", "{\"inputs\": \"what is a vector\"}");
    assertEquals(200, one.statusCode());
    JsonNode v = JSON.readTree(one.body());
    assertEquals(1, v.size());
    assertVector("single", expected("what is a vector"), v.get(0));

    JsonNode batch = JSON.readTree(post(server, "/embed", "{\"inputs\": [\"first\", \"second text\"]}").body());
    assertEquals(2, batch.size());
    assertVector("first", expected("first"), batch.get(0));
    assertVector("second", expected("second text"), batch.get(1));

    String longText = "word ".repeat(400);
    HttpResponse<String> tooLong = post(server, "/embed", "{\"inputs\": [\"short\", \"" + longText + "\"], \"truncate\": false}");
    assertEquals(413, tooLong.statusCode());
    JsonNode err = JSON.readTree(tooLong.body());
    assertEquals("Validation", err.get("error_type").asText());
    assertThat(err.get("error").asText(), containsString("Input validation error: `inputs` must have less than 256"
        + " tokens. Given: 402 (input 1;"));
    JsonNode cut = JSON.readTree(post(server, "/embed", "{\"inputs\": \"" + longText + "\", \"truncate\": true}").body());
    assertVector("truncated as the job truncates", expected(longText), cut.get(0));

    // normalize off: the same direction, not of length 1 (the served model normalizes).
    JsonNode raw = JSON.readTree(post(server, "/embed", "{\"inputs\": \"what is a vector\", \"normalize\": false}")
        .body()).get(0);
    double norm = 0;
    double dot = 0;
    float[] unit = expected("what is a vector");
    for (int k = 0; k < raw.size(); k++) {
      norm += raw.get(k).asDouble() * raw.get(k).asDouble();
      dot += raw.get(k).asDouble() * unit[k];
    }
    assertTrue("unnormalized: |v| = " + Math.sqrt(norm), Math.abs(Math.sqrt(norm) - 1) > 0.01);
    assertEquals("same direction", 1.0, dot / Math.sqrt(norm), 1e-5);
  }

  @Test
  public void badInputIsAnsweredWithItsStatusAndAMessageAndTheServerGoesOn() throws Exception {
    String[][] cases = {
      {"/v1/embeddings", "{not json", "400", "the body is not valid JSON"},
      {"/v1/embeddings", "[1, 2]", "400", "the body must be a JSON object, but was ARRAY"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\"}", "400", "input is required"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": 5}", "400",
          "input must be a string or an array of strings, but was NUMBER"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": [[1, 2]]}", "400",
          "but input[0] is ARRAY (token ids are not accepted: send the text)"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": []}", "400", "input is empty"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": [\"a\", \"\"]}", "400",
          "input[1] is an empty string"},
      {"/v1/embeddings", "{\"input\": \"a\"}", "400", "model is required"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": \"a\", \"encoding_format\": \"int8\"}", "400",
          "encoding_format must be \\\"float\\\" or \\\"base64\\\""},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": \"a\", \"dimensions\": 128}", "400",
          "this model's vectors have 384 dimensions"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}",
          "413", "input has 9 items, more than the 8 one request may carry (--maxInputs)"},
      {"/v1/embeddings", "{\"model\": \"all-minilm-l6-v2\", \"input\": \"" + "x".repeat(30000) + "\"}", "413",
          "more than the 20000 a request may (--maxBodyBytes)"},
      {"/embed", "{\"inputs\": \"a\", \"truncate\": \"yes\"}", "400", "truncate must be true or false, but was \\\"yes\\\""},
      {"/search", "{\"query\": \"a\"}", "404", "POST /search needs serve started with --jdbcUrl and --sourceTable"},
      {"/v2/nothing", "{}", "404", "no such route: POST /v2/nothing"},
    };
    for (String[] c : cases) {
      HttpResponse<String> r = post(server, c[0], c[1]);
      assertEquals(c[0] + " " + c[1].substring(0, Math.min(60, c[1].length())), Integer.parseInt(c[2]), r.statusCode());
      assertThat(r.body(), containsString(c[3]));
      JSON.readTree(r.body()); // always JSON
    }
    HttpResponse<String> wrongMethod = get(server, "/v1/embeddings");
    assertEquals(405, wrongMethod.statusCode());
    assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
    assertEquals(200, get(server, "/health").statusCode());
    assertEquals("{\"status\":\"ready\"}\n", get(server, "/health").body());
  }

  @Test
  public void manyClientsAtOnceGetExactlyTheirOwnVectors() throws Exception {
    int clients = 32;
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    try {
      List<Future<JsonNode>> answers = new ArrayList<>();
      for (int i = 0; i < clients; i++) {
        String body = JSON.writeValueAsString(java.util.Map.of("model", "all-minilm-l6-v2",
            "input", List.of("client " + i + " asks about topic " + (i * 7919 % 101), "and then " + "more ".repeat(i))));
        answers.add(pool.submit(() -> JSON.readTree(post(server, "/v1/embeddings", body).body())));
      }
      for (int i = 0; i < clients; i++) {
        JsonNode data = answers.get(i).get(2, TimeUnit.MINUTES).get("data");
        assertVector("client " + i + " input 0", expected("client " + i + " asks about topic " + (i * 7919 % 101)),
            data.get(0).get("embedding"));
        assertVector("client " + i + " input 1", expected("and then " + "more ".repeat(i)), data.get(1).get("embedding"));
      }
    } finally {
      pool.shutdownNow();
    }
    String metrics = get(server, "/metrics").body();
    assertThat(metrics, containsString("pgembed_serve_requests_total{route=\"/v1/embeddings\",status=\"200\"} "));
    assertThat(metrics, containsString("pgembed_serve_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"+Inf\"} "));
    assertThat(metrics, containsString("# TYPE pgembed_serve_queue_size gauge\npgembed_serve_queue_size 0\n"));
    assertThat(metrics, containsString("pgembed_serve_tokens_total "));
    assertThat(metrics, containsString("pgembed_serve_model_busy_seconds_total "));
    assertTrue("merged: " + server.metrics().meanBatchSize(), server.metrics().meanBatchSize() > 1);

    JsonNode info = JSON.readTree(get(server, "/info").body());
    assertEquals("all-minilm-l6-v2", info.get("model_id").asText());
    assertEquals(384, info.get("dimension").asInt());
    assertEquals(256, info.get("max_input_length").asInt());
    assertEquals(8, info.get("max_client_batch_size").asInt());
    assertEquals(model.fingerprint().toString(), info.get("fingerprint").asText());
    assertEquals("mean", info.get("pooling").asText());
  }

  @Test
  public void aStopAnswersTheRequestInFlightThenRefusesNewOnes() throws Exception {
    String gate = "serve-stop-" + System.nanoTime();
    EmbeddingServer held = ServeTestSupport.start(new HeldModel(SPEC, gate), "--drainSeconds=120");
    CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> {
      try {
        return post(held, "/embed", "{\"inputs\": \"held in flight\"}");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    HeldModel.awaitHeld(gate, 1, 120_000);
    CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> {
      try {
        held.close();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    io.pgembed.Await.await("/health to say draining", 60, () -> {
      try {
        HttpResponse<String> h = get(held, "/health");
        return h.statusCode() == 503 && h.body().equals("{\"status\":\"draining\"}\n");
      } catch (Exception listenerClosed) {
        return false;
      }
    });
    HeldModel.open(gate);
    HttpResponse<String> answered = inFlight.get(2, TimeUnit.MINUTES);
    assertEquals(200, answered.statusCode());
    assertVector("the request in flight", expected("held in flight"), JSON.readTree(answered.body()).get(0));
    stopping.get(2, TimeUnit.MINUTES);
  }
}
