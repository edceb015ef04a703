package io.pgembed.model;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps glibc from handing libtorch's freed tensors back to the kernel.
 *
 * <p>A forward pass allocates activations of tens of MB (attention scores are {@code B x heads x T x T} floats).
 * glibc serves blocks above its mmap threshold with fresh {@code mmap}s and unmaps them on free, so every batch
 * faults its memory in again; measured here, that cost a batch of 32 about 30% of its throughput and made large
 * batches slower than small ones. With mmap off and trimming raised, freed blocks stay in the heap and the next
 * batch reuses them. The price is that the process keeps its peak native memory. Set
 * {@code -Dpgembed.mallocTuning=false} to leave glibc's defaults alone.
 */
public final class NativeAllocator {
  private static final Logger LOG = LoggerFactory.getLogger(NativeAllocator.class);
  private static final AtomicBoolean DONE = new AtomicBoolean();
  // From glibc's malloc.h.
  private static final int M_TRIM_THRESHOLD = -1;
  private static final int M_MMAP_MAX = -4;

  private NativeAllocator() {}

  interface LibC extends Library {
    int mallopt(int param, int value);
  }

  /** Once per JVM; a no-op where the C library has no {@code mallopt} (not glibc) or the property says no. */
  public static void keepFreedMemoryForReuse() {
    if (!Boolean.parseBoolean(System.getProperty("pgembed.mallocTuning", "true")) || !DONE.compareAndSet(false, true)) {
      return;
    }
    try {
      LibC c = Native.load("c", LibC.class);
      boolean ok = c.mallopt(M_MMAP_MAX, 0) == 1 & c.mallopt(M_TRIM_THRESHOLD, Integer.MAX_VALUE) == 1;
      LOG.info("glibc malloc {}: freed native memory is kept for reuse (M_MMAP_MAX=0, M_TRIM_THRESHOLD=2 GiB)",
          ok ? "tuned" : "partly tuned");
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      LOG.info("malloc tuning skipped ({}): not glibc?", e.toString());
    }
  }
}
