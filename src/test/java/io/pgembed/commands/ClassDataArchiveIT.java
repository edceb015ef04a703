package io.pgembed.commands;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pgembed.BundledJar;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@code runners/cds-archive.sh} on the bundled jar, as {@code runners/direct.sh} calls it: the first call trains the
 * archive (the jar's class-data-training command: an embedded PostgreSQL, run, embed, search) and prints the flags
 * that map it; a JVM started with them loads the job's classes from the archive; the second call reuses it; another
 * build of the jar gets its own; PGEMBED_CDS=off prints nothing. Runs after {@code package} (failsafe).
 */
public class ClassDataArchiveIT {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private record Result(int code, String stdout, String stderr) {}

  private static Result launch(Map<String, String> env, List<String> command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    Path out = Files.createTempFile("cds-out", ".txt");
    Path err = Files.createTempFile("cds-err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    // A bound, not a pace: the training takes about 20 s on 2 cores.
    assertTrue("timed out: " + command, p.waitFor(10, TimeUnit.MINUTES));
    Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    Files.delete(out);
    Files.delete(err);
    return r;
  }

  private static List<String> flags(String stdout) {
    return stdout.lines().filter(l -> !l.isBlank()).toList();
  }

  @Test
  public void theFirstStartTrainsTheArchiveAndLaterStartsMapTheJobsClassesFromIt() throws Exception {
    Path jar = tmp.getRoot().toPath().resolve("pg-embeddings-test-bundled.jar");
    Files.copy(BundledJar.in(Path.of("")), jar);
    Path cache = tmp.newFolder("cache").toPath();
    Map<String, String> env = Map.of("PGEMBED_CACHE_DIR", cache.toString());

    Result first = launch(env, List.of("runners/cds-archive.sh", jar.toString()));
    assertEquals(first.stderr(), 0, first.code());
    assertTrue(first.stderr(),
        first.stderr().contains("Preparing the class-data archive of pg-embeddings-test-bundled"));
    List<String> flags = flags(first.stdout());
    assertEquals(2, flags.size());
    assertTrue(flags.get(0), flags.get(0).matches(java.util.regex.Pattern.quote("-XX:SharedArchiveFile="
        + cache.resolve("class-data").resolve("pg-embeddings-test-bundled-")) + "[0-9]+\\.jsa"));
    assertEquals("-Xlog:cds=off,cds+dynamic=off", flags.get(1));
    Path archive = Path.of(flags.get(0).substring("-XX:SharedArchiveFile=".length()));
    assertTrue(Files.size(archive) > 1_000_000);
    assertEquals(List.of(archive.getFileName().toString()), names(archive.getParent()));

    // A start with the flags loads the job's classes from the archive, not from the jar.
    Result help = launch(Map.of(), javaWith(flags, jar));
    assertEquals(help.stderr(), 0, help.code());
    for (String cls : List.of("io.pgembed.Main", "org.apache.beam.sdk.options.PipelineOptionsFactory")) {
      assertTrue(cls, help.stdout().contains(cls + " source: shared objects file (top)"));
    }

    // The second start reuses it: no training, the same file.
    FileTime written = Files.getLastModifiedTime(archive);
    Result second = launch(env, List.of("runners/cds-archive.sh", jar.toString()));
    assertEquals(0, second.code());
    assertEquals("", second.stderr());
    assertEquals(flags, flags(second.stdout()));
    assertEquals(written, Files.getLastModifiedTime(archive));

    // PGEMBED_CDS=off: no flags, no training.
    Result off = launch(Map.of("PGEMBED_CACHE_DIR", cache.toString(), "PGEMBED_CDS", "off"),
        List.of("runners/cds-archive.sh", jar.toString()));
    assertEquals(0, off.code());
    assertEquals("", off.stdout() + off.stderr());

    // A rebuilt jar (here: another modification time) is another key; a JVM given the old archive with it would
    // refuse the archive (a jar "not the one used while building"), and the flags keep that refusal off stdout.
    Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 60_000));
    Result stale = launch(Map.of(), javaWith(flags, jar));
    assertEquals(stale.stderr(), 0, stale.code());
    assertTrue(stale.stdout(), stale.stdout().contains("io.pgembed.options.EmbedFileOptions"));
    assertTrue(stale.stdout().contains("io.pgembed.Main source: file:"));
    assertFalse(stale.stdout().contains("[warning]"));
  }

  /** {@code embed --help} (the options parsed) of {@code jar} started as direct.sh starts it, with {@code flags}. */
  private static List<String> javaWith(List<String> flags, Path jar) {
    List<String> java = new ArrayList<>(List.of("java", "@runners/direct-jvm.args"));
    java.addAll(flags);
    java.addAll(List.of("-Xmx4g", "-Xlog:class+load=info", "-jar", jar.toString(), "embed", "--help"));
    return java;
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
