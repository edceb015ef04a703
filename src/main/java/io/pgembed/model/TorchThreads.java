package io.pgembed.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses libtorch's intra-op and inter-op thread counts.
 *
 * <p>When {@code workers} threads each run a forward pass on one CPU, letting each use every core
 * oversubscribes the machine; so by default each gets {@code cores / workers} intra-op threads (at least one) and
 * inter-op parallelism is 1, since a BERT forward is a chain of ops with nothing to run side by side. On a GPU the
 * counts matter little. They must be set before the engine starts: DJL reads {@code ai.djl.pytorch.num_threads} and
 * {@code ai.djl.pytorch.num_interop_threads} once.
 */
public final class TorchThreads {
  private static final Logger LOG = LoggerFactory.getLogger(TorchThreads.class);
  static final String INTRA = "ai.djl.pytorch.num_threads";
  static final String INTER = "ai.djl.pytorch.num_interop_threads";

  private TorchThreads() {}

  /** The intra-op count for {@code workers} concurrent forward passes on {@code cores} cores. */
  public static int intraOpFor(int workers, int cores) {
    return Math.max(1, cores / Math.max(1, workers));
  }

  /**
   * Sets the counts unless the user already set the system properties; 0 means "choose". Returns the intra-op
   * count in force.
   */
  public static synchronized int configure(int intraOp, int interOp, int workers) {
    int cores = Runtime.getRuntime().availableProcessors();
    int intra = intraOp > 0 ? intraOp : intraOpFor(workers, cores);
    int inter = interOp > 0 ? interOp : 1;
    if (System.getProperty(INTRA) == null) {
      System.setProperty(INTRA, Integer.toString(intra));
    }
    if (System.getProperty(INTER) == null) {
      System.setProperty(INTER, Integer.toString(inter));
    }
    Engine engine = Engine.getEngine("PyTorch");
    // A JVM whose engine already started ignores the property; the intra-op count can still change.
    int wanted = Integer.parseInt(System.getProperty(INTRA));
    if (JniUtils.getNumThreads() != wanted) {
      JniUtils.setNumThreads(wanted);
    }
    LOG.info(
        "PyTorch {} threads: intra-op {}, inter-op {} ({} worker(s) on {} core(s))",
        engine.getVersion(), System.getProperty(INTRA), System.getProperty(INTER), workers, cores);
    return wanted;
  }
}
