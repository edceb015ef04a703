package io.pgembed;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting for a condition in tests, with a bound: never a bare sleep. */
public final class Await {
  private Await() {}

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
}
