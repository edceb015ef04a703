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

  /**
   * Milliseconds since the process started (the JVM's own start-up included): on Linux from the system's uptime and
   * the process's start in clock ticks (to 10 ms); elsewhere from the process's start instant, else the JVM's.
   * ProcessHandle's start instant adds the boot time, which /proc/stat gives in whole seconds: measured here, it put
   * the start 0.73 s early.
   */
  public static long sinceStartMillis() {
    long exact = sinceStartFromProc();
    if (exact >= 0) {
      return exact;
    }
    long start = ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli)
        .orElse(ManagementFactory.getRuntimeMXBean().getStartTime());
    return System.currentTimeMillis() - start;
  }

  /** /proc/uptime minus /proc/self/stat's starttime (field 22, in USER_HZ: 100 a second), in ms; -1 without them. */
  static long sinceStartFromProc() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      // The fields after the command's closing parenthesis start at field 3 (state): starttime is the 20th of them.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long startTicks = Long.parseLong(fields[19]);
      double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
      return Math.max(0, Math.round(uptime * 1000 - startTicks * 10.0));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
