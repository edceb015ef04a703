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

  @Test
  public void eachCommandTakesOnlyItsOwnOptionsAndWarnsAboutAnotherCommands() {
    // search takes the database, tables, model and query; --continuous is a run option: ignored, not an error.
    SearchOptions search = OptionSources.parse(
        new String[] {"--jdbcUrl=jdbc:postgresql://h/db", "--sourceTable=a", "--query=q", "--continuous",
            "--batchMode=tokens"}, Map.of(), SearchOptions.class);
    assertEquals("q", search.getQuery());
    assertEquals(false, OptionSources.properties(SearchOptions.class).contains("continuous"));
    // status and cancel parse only the database and queue options, so a job id and the queue's name.
    QueueAdminOptions admin = OptionSources.parse(
        new String[] {"--jdbcUrl=jdbc:postgresql://h/db", "--job=7", "--model=/m"}, Map.of(), QueueAdminOptions.class);
    assertEquals(7L, (long) admin.getJob());
    // An option that no command has is still an error, naming it.
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> OptionSources.parse(new String[] {"--sourceTabel=a"}, Map.of(), EmbeddingPipelineOptions.class));
    assertTrue(unknown.getMessage(), unknown.getMessage().contains("sourceTabel"));
    // The environment and a profile set only the options of the command that has them.
    WorkerOptions worker = OptionSources.parse(new String[] {"--profile=cuda-24gb"},
        Map.of("EMBEDDING_TIMEOUT_MS", "5000", "EMBEDDING_TRAINING_CANARY_PERCENT", "20"), WorkerOptions.class);
    assertEquals(5000L, (long) worker.getTimeout());
    assertEquals(10, (int) worker.getWorkers());
    SearchOptions onGpu = OptionSources.parse(new String[] {"--profile=cuda-24gb"}, Map.of(), SearchOptions.class);
    assertEquals("a command without --profile of its own still reads the profile", "cuda", onGpu.getDevice());
  }

  @Test
  public void batchModeIsTypedAndABadValueIsNamed() {
    EmbeddingPipelineOptions tokens =
        OptionSources.parse(new String[] {"--batchMode=tokens"}, Map.of(), EmbeddingPipelineOptions.class);
    assertEquals(io.pgembed.batch.BatchMode.TOKENS, tokens.getBatchMode());
    EmbeddingPipelineOptions byDefault = OptionSources.parse(new String[] {}, Map.of(), EmbeddingPipelineOptions.class);
    assertEquals(io.pgembed.batch.BatchMode.COUNT, byDefault.getBatchMode());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> OptionSources.parse(new String[] {"--batchMode=bytes"}, Map.of(), EmbeddingPipelineOptions.class));
    assertTrue(bad.getMessage(), bad.getMessage().contains("batchMode"));
    assertTrue(bad.getMessage(), bad.getMessage().contains("bytes"));
    assertEquals(org.joda.time.Duration.millis(500), Durations.parse("500ms", "--pollInterval"));
    IllegalArgumentException poll = assertThrows(IllegalArgumentException.class,
        () -> Durations.parse("5 sec", "--pollInterval"));
    assertEquals("--pollInterval must look like 500ms, 5s, 2m or 1h, but was '5 sec'", poll.getMessage());
  }
}
