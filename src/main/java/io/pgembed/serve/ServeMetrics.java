package io.pgembed.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * {@code serve}'s counters, in Prometheus' text format: requests by route and status, the request duration
 * histogram by route, the queue size, forward passes and their sizes, tokens, and the model's busy time.
 */
public final class ServeMetrics {
  private static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<String, Histogram> durations = new ConcurrentHashMap<>();
  private final LongAdder passes = new LongAdder();
  private final LongAdder inputs = new LongAdder();
  private final LongAdder tokens = new LongAdder();
  private final AtomicLong busyNanos = new AtomicLong();
  private volatile IntSupplier queued = () -> 0;

  private static final class Histogram {
    final LongAdder[] counts = new LongAdder[BUCKETS.length + 1];
    final LongAdder sumMicros = new LongAdder();

    Histogram() {
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double seconds) {
      int i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]) {
        i++;
      }
      counts[i].increment();
      sumMicros.add(Math.round(seconds * 1e6));
    }
  }

  /** Where the queue size is read. */
  void queue(IntSupplier size) {
    queued = size;
  }

  /** A request answered. */
  void request(String route, int status, long nanos) {
    requests.computeIfAbsent(route + "\u0000" + status, k -> new LongAdder()).increment();
    durations.computeIfAbsent(route, k -> new Histogram()).observe(nanos / 1e9);
  }

  /** Forward passes that embedded {@code inputs} inputs of {@code realTokens} tokens in {@code nanos}. */
  void forwardPasses(int n, int inputs, long realTokens, long nanos) {
    passes.add(n);
    this.inputs.add(inputs);
    tokens.add(realTokens);
    busyNanos.addAndGet(nanos);
  }

  /** Forward passes run so far. */
  public long forwardPassCount() {
    return passes.sum();
  }

  /** Inputs embedded so far. */
  public long inputCount() {
    return inputs.sum();
  }

  /** Inputs per forward pass so far (0 before the first). */
  public double meanBatchSize() {
    long p = passes.sum();
    return p == 0 ? 0 : (double) inputs.sum() / p;
  }

  public String render() {
    StringBuilder sb = new StringBuilder();
    sb.append("# HELP pgembed_serve_requests_total Requests answered, by route and status.\n")
        .append("# TYPE pgembed_serve_requests_total counter\n");
    new TreeMap<>(requests).forEach((k, v) -> {
      String[] rs = k.split("\u0000");
      sb.append("pgembed_serve_requests_total{route=\"").append(rs[0]).append("\",status=\"").append(rs[1])
          .append("\"} ").append(v.sum()).append('\n');
    });
    sb.append("# HELP pgembed_serve_request_duration_seconds Time from a request's start to its answer.\n")
        .append("# TYPE pgembed_serve_request_duration_seconds histogram\n");
    new TreeMap<>(durations).forEach((route, h) -> {
      long cumulative = 0;
      for (int i = 0; i <= BUCKETS.length; i++) {
        cumulative += h.counts[i].sum();
        sb.append("pgembed_serve_request_duration_seconds_bucket{route=\"").append(route).append("\",le=\"")
            .append(i < BUCKETS.length ? Double.toString(BUCKETS[i]) : "+Inf").append("\"} ").append(cumulative)
            .append('\n');
      }
      sb.append("pgembed_serve_request_duration_seconds_sum{route=\"").append(route).append("\"} ")
          .append(h.sumMicros.sum() / 1e6).append('\n');
      sb.append("pgembed_serve_request_duration_seconds_count{route=\"").append(route).append("\"} ")
          .append(cumulative).append('\n');
    });
    line(sb, "pgembed_serve_queue_size", "gauge", "Inputs waiting for the model.", queued.getAsInt());
    line(sb, "pgembed_serve_forward_passes_total", "counter", "Forward passes run.", passes.sum());
    line(sb, "pgembed_serve_inputs_total", "counter", "Inputs embedded.", inputs.sum());
    line(sb, "pgembed_serve_batch_size_mean", "gauge", "Inputs per forward pass, on average.", meanBatchSize());
    line(sb, "pgembed_serve_tokens_total", "counter", "Tokens embedded (special tokens included).", tokens.sum());
    line(sb, "pgembed_serve_model_busy_seconds_total", "counter", "Time the model spent in forward passes.",
        busyNanos.get() / 1e9);
    return sb.toString();
  }

  private static void line(StringBuilder sb, String name, String type, String help, Number value) {
    sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(' ')
        .append(type).append('\n').append(name).append(' ').append(value).append('\n');
  }
}
