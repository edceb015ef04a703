package io.pgembed.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TemporaryFolder;

/**
 * The weights' digest is computed once per unchanged file: the same key reads it back, a changed size or
 * modification time computes it again, a broken or unwritable cache only computes it; a jar entry's key is its
 * size and CRC.
 */
public class DigestCacheTest {
  public TemporaryFolder tmp = new TemporaryFolder();
  @Rule public RuleChain rules =
      RuleChain.outerRule(tmp).around(new OwnCacheDir(() -> tmp.getRoot().toPath().resolve("cache")));

  private static final String A = "a".repeat(64);
  private static final String B = "b".repeat(64);

  @Test
  public void anUnchangedFileIsHashedOnceAndAChangedOneAgain() throws Exception {
    Path weights = tmp.newFile("model.safetensors").toPath();
    Files.writeString(weights, "weights v1");
    AtomicInteger computed = new AtomicInteger();
    assertEquals(A, DigestCache.get(DigestCache.fileKey(weights), () -> { computed.incrementAndGet(); return A; }));
    assertEquals(A, DigestCache.get(DigestCache.fileKey(weights), () -> { computed.incrementAndGet(); return B; }));
    assertEquals("read back, not computed", 1, computed.get());

    Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 5000));
    assertEquals("a new modification time: computed again", B,
        DigestCache.get(DigestCache.fileKey(weights), () -> { computed.incrementAndGet(); return B; }));
    Files.writeString(weights, "weights v2, longer");
    assertEquals("a new size: computed again", A,
        DigestCache.get(DigestCache.fileKey(weights), () -> { computed.incrementAndGet(); return A; }));
    assertEquals(3, computed.get());
  }

  @Test
  public void aBrokenOrUnwritableCacheOnlyComputes() throws Exception {
    Path weights = tmp.newFile("w.onnx").toPath();
    Files.writeString(weights, "w");
    Path cache = DigestCache.file();
    Files.createDirectories(cache.getParent());
    Files.writeString(cache, "weights-sha256-v1 file " + weights.toAbsolutePath() + " junk = not-a-digest\n\\u00");
    assertEquals(A, DigestCache.get(DigestCache.fileKey(weights), () -> A));
    assertEquals("a cache entry that is not a digest is computed again", B,
        DigestCache.get("file elsewhere 1 2", () -> B));
    System.setProperty("pgembed.cacheDir", "/proc/no-such-dir");
    assertEquals(B, DigestCache.get(DigestCache.fileKey(weights), () -> B));
    assertEquals("no key: always computed", A, DigestCache.get(null, () -> A));
  }

  @Test
  public void aJarEntrysKeyIsItsSizeAndCrcAndTheBundledDigestIsUnchanged() throws Exception {
    java.net.URL url = ModelLoader.class.getResource("/all-minilm-l6-v2.onnx");
    String key = DigestCache.resourceKey(url);
    assertNotNull(key);
    assertTrue(key, key.startsWith("jar ") && key.contains("!all-minilm-l6-v2.onnx "));
    AtomicInteger computed = new AtomicInteger();
    EmbeddingModel first = ModelLoader.builder().device("cpu").build().load();
    EmbeddingModel second = ModelLoader.builder().device("cpu").maxLength(128).build().load();
    try {
      assertEquals("sha256:d1791b7565380af7", first.fingerprint().toString().split(" ")[1]);
      assertEquals(first.fingerprint().weightsSha256(), second.fingerprint().weightsSha256());
      assertEquals("d1791b7565380af78eb0723fd7540a7ab4cc45c91d751c65ab0317ba36386b94",
          DigestCache.get(key, () -> { computed.incrementAndGet(); return B; }));
      assertEquals("the load cached it", 0, computed.get());
      assertNotEquals(key, DigestCache.fileKey(tmp.getRoot().toPath()));
    } finally {
      first.close();
      second.close();
    }
  }
}
