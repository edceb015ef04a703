package io.pgembed.write;

import static org.junit.Assert.assertEquals;

import io.pgembed.db.RowKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;

/** A bundle's rows leave in id order (numbers as numbers), so that every writer locks a batch's rows in one order. */
public class InIdOrderTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final List<String> SEEN = new CopyOnWriteArrayList<>();

  /** One element fanned out to ids 1..n in a shuffled order: one bundle. */
  static final class Shuffled extends DoFn<Integer, KV<RowKey, String>> {
    @ProcessElement
    public void process(@Element Integer n, OutputReceiver<KV<RowKey, String>> out) {
      List<Integer> ids = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        ids.add(i);
      }
      Collections.shuffle(ids, new java.util.Random(7));
      for (int id : ids) {
        out.output(KV.of(new RowKey(Integer.toString(id), null), "row " + id));
      }
    }
  }

  static final class Record extends DoFn<KV<RowKey, String>, Void> {
    @ProcessElement
    public void process(@Element KV<RowKey, String> row) {
      SEEN.add(row.getKey().id());
    }
  }

  @Test
  public void aShuffledBundleLeavesInNumericIdOrder() {
    SEEN.clear();
    p.apply(Create.of(120))
        .apply(ParDo.of(new Shuffled()))
        .setCoder(KvCoder.of(RowKey.Coder.of(), StringUtf8Coder.of()))
        .apply(InIdOrder.create())
        .apply(ParDo.of(new Record()));
    p.run().waitUntilFinish();
    List<String> expected = new ArrayList<>();
    for (int i = 1; i <= 120; i++) {
      expected.add(Integer.toString(i)); // 2 before 10: numbers, not text
    }
    assertEquals(expected, SEEN);
  }

  @Test
  public void idsCompareAsNumbersThenAsText() {
    List<String> ids = new ArrayList<>(List.of("10", "9", "-3", "b", "a", "9223372036854775807",
        "123e4567-e89b-12d3-a456-426614174000", "023e4567-e89b-12d3-a456-426614174000"));
    ids.sort(InIdOrder.IDS);
    assertEquals(List.of("-3", "9", "10", "9223372036854775807", "023e4567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-426614174000", "a", "b"), ids);
  }
}
