package io.pgembed;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A command of the launcher ({@link Main}) in a JVM of its own, on the test classpath, as a user would run it. */
public final class MainProcess {
  private MainProcess() {}

  /**
   * Starts {@code java -Xmx... io.pgembed.Main ARGS}; its output goes to {@code target/worker-logs/NAME-*.log}, kept
   * so that a failure can be read afterwards.
   */
  public static Process start(String name, String maxHeap, List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + maxHeap, "-Dai.djl.offline=true",
        "-cp", System.getProperty("java.class.path"), "io.pgembed.Main"));
    cmd.addAll(args);
    Path logs = Path.of("target", "worker-logs");
    Files.createDirectories(logs);
    File log = logs.resolve(name + "-" + System.currentTimeMillis() + ".log").toFile();
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
  }
}
