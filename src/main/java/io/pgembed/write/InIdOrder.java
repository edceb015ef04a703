package io.pgembed.write;

import io.pgembed.db.RowKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;

/**
 * Puts the rows of each bundle in id order before a JdbcIO write, which batches a bundle's rows as they come: every
 * writer then locks the target rows of a batch in the same order, so two runs over the same rows (or two workers)
 * wait for each other instead of deadlocking. Numeric ids compare as numbers, others as text (a uuid's text form
 * sorts as its bytes do). Each row keeps its timestamp and window. A bundle is at most a wave's or a poll's rows.
 *
 * <pre>{@code
 * result.embedded().apply("In id order", InIdOrder.create()).apply("Write vectors", VectorWriter.vectors(...));
 * }</pre>
 */
public final class InIdOrder<V> extends PTransform<PCollection<KV<RowKey, V>>, PCollection<KV<RowKey, V>>> {
  /** Numbers as numbers (a bigint id's text is a plain integer), then everything else as text. */
  static final Comparator<String> IDS = (a, b) -> {
    Long x = asLong(a);
    Long y = asLong(b);
    if (x != null && y != null) {
      return Long.compare(x, y);
    }
    return x != null ? -1 : y != null ? 1 : a.compareTo(b);
  };

  private InIdOrder() {}

  public static <V> InIdOrder<V> create() {
    return new InIdOrder<>();
  }

  private static Long asLong(String s) {
    if (s.isEmpty() || s.length() > 19) {
      return null;
    }
    try {
      return Long.valueOf(s);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public PCollection<KV<RowKey, V>> expand(PCollection<KV<RowKey, V>> rows) {
    return rows.apply(ParDo.of(new SortFn<V>())).setCoder(rows.getCoder());
  }

  static final class SortFn<V> extends DoFn<KV<RowKey, V>, KV<RowKey, V>> {
    private transient List<Held<V>> bundle;

    private record Held<V>(KV<RowKey, V> row, Instant timestamp, BoundedWindow window) {}

    @StartBundle
    public void start() {
      bundle = new ArrayList<>();
    }

    @ProcessElement
    public void process(@Element KV<RowKey, V> row, @Timestamp Instant timestamp, BoundedWindow window) {
      bundle.add(new Held<>(row, timestamp, window));
    }

    @FinishBundle
    public void finish(FinishBundleContext out) {
      bundle.sort(Comparator.comparing(h -> h.row().getKey().id(), IDS));
      for (Held<V> h : bundle) {
        out.output(h.row(), h.timestamp(), h.window());
      }
      bundle = null;
    }
  }
}
