package io.pgembed.commands;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.Main;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class EmbedCommandTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  public void writesOneVectorPerLineInInputOrderAcrossWindows() throws Exception {
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus().subList(0, 50);
    Path in = tmp.newFile("in.jsonl").toPath();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < corpus.size(); i++) {
      // Mixed id types: numbers and strings come back as they went in.
      Object id = i % 2 == 0 ? (Object) (1000L + i) : corpus.get(i).id();
      lines.add(json.writeValueAsString(java.util.Map.of("id", id, "text", corpus.get(i).text())));
    }
    Files.write(in, lines);
    Path out = tmp.getRoot().toPath().resolve("sub/out.jsonl");

    EmbeddingPredictor p = TestModels.bundled().newPredictor();
    // A window of 7 and batches of 3: several windows, each sorted by length and restored.
    EmbedCommand.Summary s = EmbedCommand.run(p, in, out, 3, 0, 7);
    assertEquals(50, s.texts());
    assertEquals(7 * 3 + 1, s.batches()); // 7 windows of 7 -> 3 batches each, then 1 window of 1
    assertTrue(s.paddingEfficiency() > 0 && s.paddingEfficiency() <= 1);

    List<String> written = Files.readAllLines(out);
    assertEquals(50, written.size());
    float[][] expected = p.embedTexts(corpus.stream().map(TestModels.CorpusText::text).toList());
    for (int i = 0; i < 50; i++) {
      JsonNode n = json.readTree(written.get(i));
      if (i % 2 == 0) {
        assertTrue(n.get("id").isNumber());
        assertEquals(1000L + i, n.get("id").asLong());
      } else {
        assertEquals(corpus.get(i).id(), n.get("id").textValue());
      }
      float[] v = json.convertValue(n.get("embedding"), float[].class);
      assertEquals(384, v.length);
      assertThat("line " + (i + 1), TestModels.cosine(v, expected[i]), greaterThanOrEqualTo(0.99999));
    }
  }

  @Test
  public void aBadLineIsAnErrorNamingItsNumberAndNoOutputIsLeft() throws Exception {
    EmbeddingPredictor p = TestModels.bundled().newPredictor();
    Path out = tmp.getRoot().toPath().resolve("out.jsonl");
    String[][] cases = {
      {"{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2, \"text\": \"ok\"}\n{\"id\": 3, \"text\": \"unterminated}\n",
        "line 3 is not valid JSON"},
      {"{\"id\": 1, \"text\": \"ok\"}\n{\"id\": 2}\n", "line 2 (id 2) has no string \"text\""},
      {"{\"id\": 1, \"text\": null}\n", "line 1 (id 1) has no string \"text\" (it is null)"},
      {"{\"text\": \"no id\"}\n", "line 1 has no \"id\""},
      {"[1, 2]\n", "line 1 is not a JSON object"},
      {"{\"id\": 1, \"text\": \"ok\"}\n\n{\"id\": 2, \"text\": \"ok\"}\n", "line 2 is blank"},
    };
    for (String[] c : cases) {
      Path in = tmp.newFile().toPath();
      Files.writeString(in, c[0]);
      BadInputException e = assertThrows(BadInputException.class, () -> EmbedCommand.run(p, in, out, 2, 0, 1));
      assertTrue(e.getMessage(), e.getMessage().contains(c[1]));
      assertTrue(e.getMessage(), e.getMessage().startsWith(in.toString()));
      assertFalse("no partial output for " + c[1], Files.exists(out));
      try (var files = Files.list(tmp.getRoot().toPath())) {
        assertFalse(files.anyMatch(f -> f.toString().endsWith(".partial")));
      }
    }
  }

  @Test
  public void theCommandLineReportsBadOptionsWithExitCode2() {
    assertEquals(Main.EXIT_BAD_INPUT, Main.run(new String[] {"embed", "--input=/nope.jsonl", "--output=/tmp/x.jsonl", "--device=cpu"}));
    assertEquals(Main.EXIT_BAD_INPUT, Main.run(new String[] {"embed", "--output=/tmp/x.jsonl"}));
    assertEquals(Main.EXIT_BAD_INPUT, Main.run(new String[] {"frobnicate"}));
  }

  @Test
  public void theCommandLineEmbedsAFile() throws Exception {
    Path in = tmp.newFile("cli.jsonl").toPath();
    Files.writeString(in, "{\"id\": \"a\", \"text\": \"PostgreSQL\"}\n{\"id\": \"b\", \"text\": \"Flink\"}\n");
    Path out = tmp.getRoot().toPath().resolve("cli-out.jsonl");
    int rc = Main.run(new String[] {"embed", "--input=" + in, "--output=" + out, "--device=cpu", "--batchSize=1"});
    assertEquals(Main.EXIT_OK, rc);
    List<String> lines = Files.readAllLines(out);
    assertEquals(2, lines.size());
    assertEquals("a", json.readTree(lines.get(0)).get("id").textValue());
    assertEquals("b", json.readTree(lines.get(1)).get("id").textValue());
  }
}
