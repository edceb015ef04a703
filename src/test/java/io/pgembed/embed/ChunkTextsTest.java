package io.pgembed.embed;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.model.ModelLoader;
import io.pgembed.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;

/**
 * ChunkTexts with no database and a key type of the test's own: each chunk's key carries its place and its
 * character range in code points, which cut from the document give exactly the chunk's text, also past characters
 * outside the BMP (emoji, which are two UTF-16 units each); consecutive chunks meet or overlap, and the chunks cover
 * the document from its first character to its last.
 */
public class ChunkTextsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final ModelSpec MODEL = ModelLoader.builder().device("cpu").build();

  /** A key of "document#seq/count@start-end". */
  private static String chunkKey(String doc, int seq, int count, int start, int end) {
    return doc + "#" + seq + "/" + count + "@" + start + "-" + end;
  }

  /** Code points {@code [start, end)} of {@code text}: what PostgreSQL's substr(text, start + 1, end - start) gives. */
  private static String codePoints(String text, int start, int end) {
    return new String(text.codePoints().skip(start).limit(end - start).toArray(), 0, end - start);
  }

  @Test
  public void chunksAreKeyedByTheirPlaceInCodePointsWithNoDatabase() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      b.append("Paragraph ").append(i).append(" 🚀 has rockets 👨‍👩‍👧 and families in it. ")
          .append("Then some plain words about PostgreSQL vectors.\n\n");
    }
    String long1 = b.toString();
    String shortText = "A short text 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 stays one chunk.";
    PCollection<KV<String, String>> chunks = p
        .apply(Create.of(KV.of("long", long1), KV.of("short", shortText), KV.of("blank", "  "))
            .withCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())))
        .apply(ChunkTexts.of(MODEL, 64, 8, ChunkTextsTest::chunkKey));
    PAssert.that(chunks).satisfies(all -> {
      Map<String, List<KV<String, String>>> byDoc = new TreeMap<>();
      for (KV<String, String> kv : all) {
        byDoc.computeIfAbsent(kv.getKey().split("#")[0], d -> new ArrayList<>()).add(kv);
      }
      assertEquals("a blank text passes unchanged, for the embed step to skip", List.of(KV.of("blank", "  ")),
          byDoc.get("blank"));
      assertEquals(List.of(KV.of("short#0/1@0-" + shortText.codePointCount(0, shortText.length()), shortText)),
          byDoc.get("short"));
      List<KV<String, String>> parts = byDoc.get("long");
      parts.sort((x, y) -> Integer.compare(seq(x.getKey()), seq(y.getKey())));
      assertTrue("the long text is cut: " + parts.size(), parts.size() > 10);
      int total = long1.codePointCount(0, long1.length());
      int previousEnd = 0;
      for (int i = 0; i < parts.size(); i++) {
        String key = parts.get(i).getKey();
        int[] place = place(key);
        assertEquals(key, i, place[0]);
        assertEquals(key, parts.size(), place[1]);
        assertEquals(key, codePoints(long1, place[2], place[3]), parts.get(i).getValue());
        assertTrue(key + ": meets or overlaps the chunk before", place[2] <= previousEnd);
        assertTrue(key, place[3] > previousEnd);
        previousEnd = place[3];
      }
      assertEquals("the first chunk starts the text", 0, place(parts.get(0).getKey())[2]);
      assertEquals("the last chunk ends it", total, previousEnd);
      return null;
    });
    p.run().waitUntilFinish();
  }

  private static int seq(String key) {
    return place(key)[0];
  }

  /** seq, count, start, end of a key made by {@link #chunkKey}. */
  private static int[] place(String key) {
    String[] s = key.split("#")[1].split("[/@-]");
    return new int[] {Integer.parseInt(s[0]), Integer.parseInt(s[1]), Integer.parseInt(s[2]), Integer.parseInt(s[3])};
  }
}
