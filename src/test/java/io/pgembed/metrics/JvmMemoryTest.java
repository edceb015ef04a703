package io.pgembed.metrics;

import static org.junit.Assert.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.Test;

/** {@link JvmMemory#sinceStartMillis()}: the process's age from /proc, against the JVM's and ProcessHandle's. */
public class JvmMemoryTest {
  @Test
  public void theProcessAgeIsAtLeastTheJvmsAndAtMostASecondUnderProcessHandles() {
    long jvmUptime = ManagementFactory.getRuntimeMXBean().getUptime();
    long exact = JvmMemory.sinceStartFromProc();
    long viaHandle = System.currentTimeMillis() - ProcessHandle.current().info().startInstant().orElseThrow()
        .toEpochMilli();
    assertTrue("no /proc/self/stat or /proc/uptime here", exact >= 0);
    // The process exists before the JVM records its start; /proc counts in 10 ms ticks.
    assertTrue(exact + " ms since the process started, the JVM's uptime " + jvmUptime, exact >= jvmUptime - 20);
    // ProcessHandle adds /proc/stat's boot time, which is whole seconds: its age is the exact one plus [0, 1 s).
    assertTrue(viaHandle + " ms (ProcessHandle) against " + exact, viaHandle >= exact - 20 && viaHandle < exact + 1020);
  }
}
