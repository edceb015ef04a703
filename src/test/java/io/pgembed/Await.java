package io.pgembed;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting for a condition in tests, with a bound: never a bare sleep. */
public final class Await {
  private Await() {}

  /** A count read from the database or a pipeline's metrics; it may throw. */
  public interface Count {
    long get() throws Exception;
  }

  /** Waits for a condition, checking it every 50 ms, for at most {@code seconds}. */
  public static void await(String what, int seconds, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
      }
      TimeUnit.MILLISECONDS.sleep(50); // the interval between checks of the condition
    }
  }

  /** Waits until {@code count} reaches {@code target}, checking every 50 ms, for at most {@code seconds}. */
  public static void atLeast(String what, int seconds, Count count, long target) throws Exception {
    long[] last = {0};
    Exception[] failure = {null};
    try {
      await(what + " to reach " + target, seconds, () -> {
        try {
          last[0] = count.get();
          return last[0] >= target;
        } catch (Exception e) {
          failure[0] = e;
          return false;
        }
      });
    } catch (AssertionError e) {
      AssertionError timedOut = new AssertionError(e.getMessage() + " (last seen: " + last[0] + ")");
      if (failure[0] != null) {
        timedOut.addSuppressed(failure[0]);
      }
      throw timedOut;
    }
  }
}
