package io.pgembed.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import ai.djl.Device;
import org.junit.Test;

public class DeviceSpecTest {

  @Test
  public void parsesEveryForm() {
    assertEquals(Device.cpu(), DeviceSpec.resolve("cpu", 2));
    assertEquals(Device.gpu(0), DeviceSpec.resolve("cuda", 2));
    assertEquals(Device.gpu(1), DeviceSpec.resolve("cuda:1", 2));
    assertEquals(Device.gpu(0), DeviceSpec.resolve("auto", 1));
    assertEquals(Device.cpu(), DeviceSpec.resolve("auto", 0));
  }

  @Test
  public void badSyntaxNamesTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.checkSyntax("gpu0"));
    assertEquals("--device must be cpu, cuda, cuda:N or auto, but was 'gpu0'", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ModelLoader.builder().device("cuda:x").build());
  }

  @Test
  public void aGpuIndexBeyondTheVisibleOnesIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceSpec.resolve("cuda:5", 2));
    assertTrue(e.getMessage(), e.getMessage().contains("sees only 2 GPU(s): use cuda:0 to cuda:1"));
  }

  /** This machine's engine is the CPU build: asking for CUDA fails at load, before any data is read. */
  @Test
  public void cudaOnTheCpuEngineFailsAtLoad() {
    for (String spec : new String[] {"cuda", "cuda:0", "cuda:3"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ModelLoader.builder().device(spec).build().load());
      assertTrue(e.getMessage(), e.getMessage().startsWith("--device=" + spec + " asks for a CUDA GPU"));
      assertTrue(e.getMessage(), e.getMessage().contains("Use --device=cpu or --device=auto"));
    }
  }

  @Test
  public void threadCountsSplitTheCoresBetweenWorkers() {
    assertEquals(8, TorchThreads.intraOpFor(1, 8));
    assertEquals(2, TorchThreads.intraOpFor(4, 8));
    assertEquals(1, TorchThreads.intraOpFor(10, 8));
    assertEquals(2, TorchThreads.intraOpFor(0, 2));
  }
}
