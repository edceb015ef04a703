package io.pgembed.options;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class OptionSourcesTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void commandLineBeatsEnvironmentBeatsProfileBeatsDefaults() throws Exception {
    Path profile = tmp.newFile("p.properties").toPath();
    Files.writeString(profile, "device=cuda\nworkers=10\nbatchSize=16\nmaxAttempts=7\n");
    Map<String, String> env = Map.of("EMBEDDING_WORKERS", "4", "EMBEDDING_BATCH_SIZE", "12", "EMBEDDING_TIMEOUT_MS", "9000");
    EmbeddingPipelineOptions o =
        OptionSources.parse(
            new String[] {"--profile=" + profile, "--batchSize=64", "--sourceTable=a"}, env, EmbeddingPipelineOptions.class);
    assertEquals(64, (int) o.getBatchSize()); // command line
    assertEquals(4, (int) o.getWorkers()); // environment over profile
    assertEquals(9000L, (long) o.getTimeout()); // environment
    assertEquals("cuda", o.getDevice()); // profile
    assertEquals(7, (int) o.getMaxAttempts()); // profile
    assertEquals("content", o.getTextColumn()); // default
    assertEquals(2048, (int) o.getMaxBatchTokens()); // default
  }

  @Test
  public void theShippedProfilesParse() {
    EmbeddingPipelineOptions big =
        OptionSources.parse(new String[] {"--profile=cuda-24gb"}, Map.of(), EmbeddingPipelineOptions.class);
    assertEquals("cuda", big.getDevice());
    assertEquals(10, (int) big.getWorkers());
    assertEquals(16, (int) big.getBatchSize());
    EmbeddingPipelineOptions small =
        OptionSources.parse(new String[] {"--profile=cuda-12gb"}, Map.of(), EmbeddingPipelineOptions.class);
    assertEquals(8, (int) small.getWorkers());
    assertEquals(8, (int) small.getBatchSize());
    EmbeddingPipelineOptions cpu =
        OptionSources.parse(new String[] {"--profile=cpu"}, Map.of("EMBEDDING_DEVICE", "auto"), EmbeddingPipelineOptions.class);
    assertEquals("auto", cpu.getDevice());
  }

  @Test
  public void badProfilesAndValuesAreNamed() throws Exception {
    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () -> OptionSources.parse(new String[] {"--profile=nope"}, Map.of(), EmbeddingPipelineOptions.class));
    assertTrue(missing.getMessage(), missing.getMessage().startsWith("--profile=nope: "));
    Path withPassword = tmp.newFile("bad.properties").toPath();
    Files.writeString(withPassword, "password=hunter2\n");
    IllegalArgumentException pw =
        assertThrows(
            IllegalArgumentException.class,
            () -> OptionSources.parse(new String[] {"--profile=" + withPassword}, Map.of(), EmbeddingPipelineOptions.class));
    assertTrue(pw.getMessage(), pw.getMessage().contains("passwords never go in profiles"));
    assertTrue(!pw.getMessage().contains("hunter2"));
    assertThrows(
        IllegalArgumentException.class,
        () -> OptionSources.parse(new String[] {}, Map.of("EMBEDDING_WORKERS", "many"), EmbeddingPipelineOptions.class));
  }
}
