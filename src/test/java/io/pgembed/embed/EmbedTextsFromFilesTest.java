package io.pgembed.embed;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.Main;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.TextIO;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@link EmbedTexts} as a Beam Java user with no database would use it: lines of a local file read with TextIO,
 * embedded with the real bundled model, and the vectors equal to those of the {@code embed} command on the same
 * texts.
 */
public class EmbedTextsFromFilesTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void linesOfAFileGetTheVectorsOfTheEmbedCommand() throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<String> tsv = new ArrayList<>();
    List<String> jsonl = new ArrayList<>();
    List<TestModels.CorpusText> corpus = TestModels.parityCorpus().subList(0, 40);
    for (TestModels.CorpusText t : corpus) {
      String text = t.text().replaceAll("[\\t\\r\\n]+", " ");
      tsv.add(t.id() + "\t" + text);
      jsonl.add(json.writeValueAsString(Map.of("id", t.id(), "text", text)));
    }
    Path lines = tmp.getRoot().toPath().resolve("texts.tsv");
    Files.write(lines, tsv);
    Path in = tmp.getRoot().toPath().resolve("texts.jsonl");
    Files.write(in, jsonl);
    Path out = tmp.getRoot().toPath().resolve("vectors.jsonl");
    assertEquals(Main.EXIT_OK, Main.run(new String[] {
        "embed", "--input=" + in, "--output=" + out, "--device=cpu", "--batchSize=32"}));
    HashMap<String, float[]> expected = new HashMap<>();
    for (String line : Files.readAllLines(out)) {
      JsonNode n = json.readTree(line);
      expected.put(n.get("id").asText(), json.convertValue(n.get("embedding"), float[].class));
    }
    assertEquals(40, expected.size());

    PCollection<KV<String, float[]>> vectors =
        p.apply("Read lines", TextIO.read().from(lines.toString()))
            .apply("Split id and text", MapElements
                .into(TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via(line -> KV.of(line.substring(0, line.indexOf('\t')), line.substring(line.indexOf('\t') + 1))))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
            .apply("Embed", EmbedTexts.<String>using(ModelLoader.builder().device("cpu").build()).withBatchSize(8))
            .embedded();
    PAssert.that(vectors).satisfies(rows -> {
      Map<String, float[]> got = new HashMap<>();
      rows.forEach(kv -> got.put(kv.getKey(), kv.getValue()));
      assertEquals(expected.keySet(), got.keySet());
      for (Map.Entry<String, float[]> e : expected.entrySet()) {
        float[] v = got.get(e.getKey());
        assertEquals(384, v.length);
        assertThat(e.getKey(), TestModels.cosine(v, e.getValue()), greaterThanOrEqualTo(0.99999));
        for (int i = 0; i < v.length; i++) {
          assertEquals(e.getKey() + "[" + i + "]", e.getValue()[i], v[i], 1e-5);
        }
      }
      return null;
    });
    p.run();
  }
}
