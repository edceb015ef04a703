package io.pgembed.metrics;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This JVM's peak memory: what the report (and each worker JVM, through its metrics) says it used; and its age, for
 * the start-up log lines.
 */
public final class JvmMemory {
  private JvmMemory() {}

  /** The sum of the heap pools' peaks. */
  public static long peakHeap() {
    long sum = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
        sum += pool.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  /** VmHWM of /proc/self/status: the process's peak resident memory (0 where there is no /proc). */
  public static long peakRss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }

  /** Milliseconds since the process started (the JVM's own start-up included); since the JVM's start without one. */
  public static long sinceStartMillis() {
    long start = ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli)
        .orElse(ManagementFactory.getRuntimeMXBean().getStartTime());
    return System.currentTimeMillis() - start;
  }
}
