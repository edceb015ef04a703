package io.pgembed.serve;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.commands.EmbedCommand;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The official OpenAI client for Node, a client nobody here wrote, against {@code serve}: with its defaults (it asks
 * for base64 and decodes it) and with {@code encoding_format: "float"}, the vectors equal the {@code embed}
 * command's on the same texts, every component within 1e-5; a wrong model is its 404, a wrong key its 401.
 */
public class ServeOpenAiClientTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  public void theOpenAiNodeClientGetsTheEmbedCommandsVectors() throws Exception {
    List<String> texts = List.of("how are passwords stored?", "Le chiffrement des mots de passe", "数据库连接池",
        "a short one", "emoji 🔐 and accents: naïve café", "long ".repeat(400) + "text, cut as the job cuts it");
    ModelSpec spec = ModelLoader.builder().device("cpu").build();

    // What the embed command writes for the same texts.
    Path in = tmp.newFile("in.jsonl").toPath();
    Path out = tmp.getRoot().toPath().resolve("out.jsonl");
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < texts.size(); i++) {
      lines.append(JSON.writeValueAsString(Map.of("id", i, "text", texts.get(i)))).append('\n');
    }
    Files.writeString(in, lines);
    List<float[]> expected = new ArrayList<>();
    long tokens = 0;
    try (EmbeddingModel m = spec.load(); EmbeddingPredictor p = m.newPredictor()) {
      EmbedCommand.run(p, in, out, 32, 2048, 1000);
      for (String line : Files.readAllLines(out)) {
        JsonNode e = JSON.readTree(line).get("embedding");
        float[] v = new float[e.size()];
        for (int k = 0; k < v.length; k++) {
          v[k] = (float) e.get(k).asDouble();
        }
        expected.add(v);
      }
      for (var t : m.tokenizer().tokenize(texts)) {
        tokens += t.length();
      }
    }

    Path key = tmp.newFile("key").toPath();
    Files.writeString(key, "s3cret-key\n");
    Path textsFile = tmp.newFile("texts.json").toPath();
    Files.writeString(textsFile, JSON.writeValueAsString(texts), StandardCharsets.UTF_8);
    try (EmbeddingServer server = ServeTestSupport.start(spec, "--apiKeyFile=" + key)) {
      Process node = new ProcessBuilder("node", Path.of("src/test/js/openai-embeddings.cjs").toString(),
          ServeTestSupport.openAiNodeModules().toString(), "http://127.0.0.1:" + server.port() + "/v1", "s3cret-key",
          "all-minilm-l6-v2", textsFile.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String printed = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals("node exited", true, node.waitFor(2, TimeUnit.MINUTES));
      assertEquals(printed, 0, node.exitValue());
      JsonNode r = JSON.readTree(printed);
      for (String field : new String[] {"defaults", "floats", "single"}) {
        JsonNode vectors = r.get(field);
        assertEquals(field, field.equals("single") ? 1 : texts.size(), vectors.size());
        for (int i = 0; i < vectors.size(); i++) {
          assertEquals(field + " " + i, expected.get(i).length, vectors.get(i).size());
          for (int k = 0; k < expected.get(i).length; k++) {
            assertEquals(field + " text " + i + " component " + k, expected.get(i)[k], vectors.get(i).get(k).asDouble(),
                1e-5);
          }
        }
      }
      assertEquals("[0,1,2,3,4,5]", r.get("indexes").toString());
      assertEquals("all-minilm-l6-v2", r.get("model").asText());
      assertEquals(tokens, r.get("usage").get("prompt_tokens").asLong());
      assertEquals(tokens, r.get("usage").get("total_tokens").asLong());
      assertEquals(404, r.get("wrongModel").get("status").asInt());
      assertThat(r.get("wrongModel").get("message").asText(), containsString("the model 'text-embedding-3-small' is"
          + " not served here: this server embeds with 'all-minilm-l6-v2' (fingerprint 'all-minilm-l6-v2 sha256:"));
      assertEquals("model_not_found", r.get("wrongModel").get("code").asText());
      assertEquals(401, r.get("wrongKey").get("status").asInt());
      assertEquals("AuthenticationError", r.get("wrongKey").get("name").asText());
    }
  }
}
