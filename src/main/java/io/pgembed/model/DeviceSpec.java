package io.pgembed.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns {@code --device=cpu|cuda|cuda:N|auto} into a DJL {@link Device}, checking it against the engine before any
 * data is read.
 */
public final class DeviceSpec {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceSpec.class);
  private static final Pattern CUDA = Pattern.compile("cuda(?::(\\d+))?");

  private DeviceSpec() {}

  /** Checks the syntax only, without starting the engine (for option validation). */
  public static void checkSyntax(String spec) {
    if (spec == null) {
      throw new IllegalArgumentException("--device must be cpu, cuda, cuda:N or auto, but was not set");
    }
    String s = spec.trim();
    if (!s.equals("cpu") && !s.equals("auto") && !CUDA.matcher(s).matches()) {
      throw new IllegalArgumentException("--device must be cpu, cuda, cuda:N or auto, but was '" + spec + "'");
    }
  }

  /** Resolves against the PyTorch engine of this JVM. */
  public static Device resolve(String spec) {
    return resolve(spec, Engine.getEngine("PyTorch").getGpuCount());
  }

  static Device resolve(String spec, int gpuCount) {
    checkSyntax(spec);
    String s = spec.trim();
    if (s.equals("cpu")) {
      return Device.cpu();
    }
    if (s.equals("auto")) {
      if (gpuCount > 0) {
        LOG.info("--device=auto: using cuda:0 ({} GPU(s) visible)", gpuCount);
        return Device.gpu(0);
      }
      LOG.info("--device=auto: the PyTorch engine sees no CUDA GPU, falling back to cpu");
      return Device.cpu();
    }
    Matcher m = CUDA.matcher(s);
    m.matches();
    int index = m.group(1) == null ? 0 : Integer.parseInt(m.group(1));
    if (gpuCount == 0) {
      throw new IllegalArgumentException(
          "--device=" + s + " asks for a CUDA GPU, but the PyTorch engine sees none (its native library is"
              + " the CPU build, or no NVIDIA driver is visible). Use --device=cpu or --device=auto, or on a GPU"
              + " machine build with 'mvn -Pcuda package' so that the CUDA build of libtorch is bundled.");
    }
    if (index >= gpuCount) {
      throw new IllegalArgumentException(
          "--device=" + s + " asks for GPU " + index + ", but the PyTorch engine sees only " + gpuCount
              + " GPU(s): use cuda:0 to cuda:" + (gpuCount - 1));
    }
    return Device.gpu(index);
  }
}
