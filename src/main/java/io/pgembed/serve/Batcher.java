package io.pgembed.serve;

import io.pgembed.embed.SharedModels;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.Tokenized;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching: the inputs of concurrent requests wait in one bounded queue, and each model thread takes what
 * is there, up to {@code batchSize} inputs (and {@link #COLLECT_TOKENS} tokens), into length-sorted forward passes
 * of at most {@code maxBatchTokens} token slots, as the job batches. While requests are still arriving (read, not yet
 * queued) it waits up to {@code maxWaitMs} for their company; a lone request never waits. A request's inputs are
 * queued all or none: a full queue refuses the request ({@link #submit} returns null), never part of it.
 *
 * <pre>{@code
 * try (Batcher b = Batcher.start(spec, 32, 2048, 4096, 2, metrics)) {
 *   List<CompletableFuture<float[]>> vectors = b.submit(model.tokenizer().tokenize(texts));
 * }
 * }</pre>
 */
public final class Batcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);
  /** Tokens one model thread takes from the queue at once (TEI's default max_batch_tokens). */
  static final int COLLECT_TOKENS = 16_384;
  /** Whole forward passes one model thread takes from a deep queue at once, sorted by length together. */
  static final int PASSES_PER_TAKE = 4;

  private record Item(Tokenized tokens, CompletableFuture<float[]> out) {}

  private final ModelSpec spec;
  private final EmbeddingModel model;
  private final ArrayBlockingQueue<Item> queue;
  private final int batchSize;
  private final int maxBatchTokens;
  private final long maxWaitNanos;
  private final ServeMetrics metrics;
  private final AtomicInteger arriving = new AtomicInteger();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<Thread> threads = new ArrayList<>();

  private Batcher(ModelSpec spec, EmbeddingModel model, int batchSize, int maxBatchTokens, int maxQueued,
      int maxWaitMs, ServeMetrics metrics) {
    this.spec = spec;
    this.model = model;
    this.queue = new ArrayBlockingQueue<>(maxQueued);
    this.batchSize = batchSize;
    this.maxBatchTokens = maxBatchTokens;
    this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMs);
    this.metrics = metrics;
  }

  /** Loads (or shares) the model and starts one model thread per forward pass the spec allows at once. */
  public static Batcher start(ModelSpec spec, int batchSize, int maxBatchTokens, int maxQueued, int maxWaitMs,
      ServeMetrics metrics) {
    EmbeddingModel model = SharedModels.acquire(spec);
    Batcher b = new Batcher(spec, model, batchSize, maxBatchTokens, maxQueued, maxWaitMs, metrics);
    Semaphore passes = SharedModels.forwardPasses(spec);
    for (int i = 0; i < Math.max(1, spec.workers()); i++) {
      Thread t = new Thread(() -> b.loop(passes), "serve-model-" + i);
      t.setDaemon(true);
      t.start();
      b.threads.add(t);
    }
    return b;
  }

  public EmbeddingModel model() {
    return model;
  }

  /** Inputs waiting for the model now. */
  public int queued() {
    return queue.size();
  }

  /** Marks a request as arriving (read, not yet queued): model threads wait a little for it. */
  public void arriving() {
    arriving.incrementAndGet();
  }

  /** The request marked arriving was queued or dropped. */
  public void arrived() {
    arriving.decrementAndGet();
  }

  /** Queues every input, or none when the queue lacks room (null: answer 429). One vector per input, in order. */
  public synchronized List<CompletableFuture<float[]>> submit(List<Tokenized> inputs) {
    if (!running.get() || queue.remainingCapacity() < inputs.size()) {
      return null;
    }
    List<CompletableFuture<float[]>> out = new ArrayList<>(inputs.size());
    for (Tokenized t : inputs) {
      Item item = new Item(t, new CompletableFuture<>());
      queue.add(item); // room was checked; only the model threads take meanwhile
      out.add(item.out());
    }
    return out;
  }

  private void loop(Semaphore passes) {
    try (EmbeddingPredictor predictor = model.newPredictor()) {
      while (running.get() || !queue.isEmpty()) {
        Item first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        List<Item> batch = collect(first);
        embed(predictor, passes, batch);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * {@code first} and what else is queued. A queue deeper than one forward pass ({@code batchSize}) is taken in
   * whole passes, up to {@link #PASSES_PER_TAKE} of them, length-sorted together (less padding), never a full pass
   * and a small remainder (measured at 64 clients: 22.8 inputs per pass when everything queued was taken, 31.7 in
   * whole passes). A shallower queue is taken whole, after waiting up to {@code maxWaitMs} for company while
   * requests are arriving. At most {@link #COLLECT_TOKENS} tokens either way.
   */
  private List<Item> collect(Item first) throws InterruptedException {
    List<Item> batch = new ArrayList<>();
    batch.add(first);
    long tokens = first.tokens().length();
    int queued = queue.size() + 1;
    if (queued >= batchSize) {
      int take = Math.min(queued / batchSize, PASSES_PER_TAKE) * batchSize;
      while (batch.size() < take && tokens < COLLECT_TOKENS) {
        Item next = queue.poll();
        if (next == null) {
          break; // another model thread took it
        }
        batch.add(next);
        tokens += next.tokens().length();
      }
      return batch;
    }
    long deadline = System.nanoTime() + maxWaitNanos;
    while (tokens < COLLECT_TOKENS && batch.size() < batchSize) {
      Item next = queue.poll();
      if (next == null) {
        long left = deadline - System.nanoTime();
        if (arriving.get() == 0 || left <= 0) {
          break;
        }
        next = queue.poll(left, TimeUnit.NANOSECONDS);
        if (next == null) {
          break;
        }
      }
      batch.add(next);
      tokens += next.tokens().length();
    }
    return batch;
  }

  private void embed(EmbeddingPredictor predictor, Semaphore passes, List<Item> batch) throws InterruptedException {
    List<Tokenized> tokens = new ArrayList<>(batch.size());
    for (Item i : batch) {
      tokens.add(i.tokens());
    }
    passes.acquire();
    long t0 = System.nanoTime();
    try {
      LengthSortedBatches.Result r = LengthSortedBatches.embed(predictor, tokens, batchSize, maxBatchTokens);
      metrics.forwardPasses(r.forwardPasses(), batch.size(), r.realTokens(), System.nanoTime() - t0);
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).out().complete(r.vectors()[i]);
      }
    } catch (RuntimeException e) {
      LOG.warn("A forward pass of {} inputs failed: {}", batch.size(), e.toString());
      for (Item i : batch) {
        i.out().completeExceptionally(e);
      }
    } finally {
      passes.release();
    }
  }

  /** Stops taking requests, lets the model threads finish what is queued, and releases the model. */
  @Override
  public void close() throws InterruptedException {
    running.set(false);
    for (Thread t : threads) {
      t.join(TimeUnit.MINUTES.toMillis(5));
    }
    SharedModels.release(spec);
  }
}
