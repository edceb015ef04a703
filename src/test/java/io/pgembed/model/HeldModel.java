package io.pgembed.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test double whose forward passes wait while its gate is closed: a test holds the work at a latch instead of
 * racing a deadline, so neither a GPU nor a slow CPU changes the outcome. The gate can
 * close again ({@link #close}), for a second attempt of the same work. Passes that found the gate closed are
 * counted ({@link #awaitHeld}). A gate opened and never closed holds only what came before (a first pass held
 * while the test changes the database). Gates are per name and per JVM (the DirectRunner runs in the test's JVM). Vectors
 * are the wrapped model's.
 */
public record HeldModel(ModelSpec inner, String gate) implements ModelSpec {
  private static final Map<String, Gate> GATES = new ConcurrentHashMap<>();

  private static final class Gate {
    final AtomicInteger held = new AtomicInteger();
    boolean open;
  }

  private static Gate gate(String name) {
    return GATES.computeIfAbsent(name, n -> new Gate());
  }

  /** Waits (at most {@code boundMs}) until {@code n} passes in all have found the gate closed. */
  public static void awaitHeld(String name, int n, long boundMs) throws InterruptedException {
    Gate g = gate(name);
    long end = System.currentTimeMillis() + boundMs;
    synchronized (g) {
      while (g.held.get() < n) {
        long left = end - System.currentTimeMillis();
        if (left <= 0) {
          throw new AssertionError("only " + g.held.get() + " of " + n + " forward passes reached gate " + name
              + " within " + boundMs + " ms");
        }
        g.wait(left);
      }
    }
  }

  /** Lets every waiting pass, and every later one until {@link #close}, through. */
  public static void open(String name) {
    Gate g = gate(name);
    synchronized (g) {
      g.open = true;
      g.notifyAll();
    }
  }

  /** Holds the passes that come after this. */
  public static void close(String name) {
    Gate g = gate(name);
    synchronized (g) {
      g.open = false;
    }
  }

  private static void pass(String name) {
    Gate g = gate(name);
    long end = System.currentTimeMillis() + TimeUnit.MINUTES.toMillis(3);
    synchronized (g) {
      if (!g.open) {
        g.held.incrementAndGet();
        g.notifyAll();
      }
      while (!g.open) {
        long left = end - System.currentTimeMillis();
        if (left <= 0) {
          throw new IllegalStateException("gate " + name + " was never opened");
        }
        try {
          g.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted at gate " + name, e);
        }
      }
    }
  }

  @Override
  public EmbeddingModel load() {
    String name = gate;
    return new ForwardingModel(inner.load(), p -> new ForwardingModel.Predictor(p) {
      @Override
      public float[][] embed(TokenBatch batch) {
        pass(name);
        return inner.embed(batch);
      }
    });
  }

  @Override
  public int workers() {
    return inner.workers();
  }

  @Override
  public ModelSpec onCpu() {
    return new HeldModel(inner.onCpu(), gate);
  }
}
