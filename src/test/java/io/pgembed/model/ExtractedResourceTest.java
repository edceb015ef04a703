package io.pgembed.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Collectors;
import java.util.zip.CRC32;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TemporaryFolder;

/**
 * The bundled weights are inflated from the jar once, then read from a copy that is checked against the jar entry's
 * size and CRC-32 at every use: a damaged copy is written again, an unwritable cache reads the jar; every stream
 * gives exactly the entry's bytes.
 */
public class ExtractedResourceTest {
  public TemporaryFolder tmp = new TemporaryFolder();
  @Rule public RuleChain rules =
      RuleChain.outerRule(tmp).around(new OwnCacheDir(() -> tmp.getRoot().toPath().resolve("cache")));
  private URL onnx;
  private long size;
  private long crc;

  @Before
  public void theBundledWeightsEntry() throws Exception {
    onnx = ModelLoader.url(ModelLoader.BUNDLED_ONNX);
    assertEquals("the bundled weights come from a jar", "jar", onnx.getProtocol());
    var entry = ((JarURLConnection) onnx.openConnection()).getJarEntry();
    size = entry.getSize();
    crc = entry.getCrc();
  }

  private long[] sizeAndCrc() throws Exception {
    CRC32 sum = new CRC32();
    long n = 0;
    byte[] buf = new byte[1 << 16];
    try (InputStream in = ExtractedResource.open(onnx)) {
      for (int k; (k = in.read(buf)) > 0; n += k) {
        sum.update(buf, 0, k);
      }
    }
    return new long[] {n, sum.getValue()};
  }

  private List<Path> copies() throws Exception {
    Path dir = DigestCache.dir();
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var files = Files.list(dir)) {
      return files.filter(f -> f.getFileName().toString().startsWith("extracted-all-minilm-l6-v2.onnx-"))
          .collect(Collectors.toList());
    }
  }

  @Test
  public void theWeightsAreExtractedOnceAndReadFromTheCheckedCopy() throws Exception {
    assertEquals(List.of(), copies());
    assertEquals(List.of(size, crc), List.of(sizeAndCrc()[0], sizeAndCrc()[1]));
    List<Path> copies = copies();
    assertEquals("one copy, named by size and CRC", 1, copies.size());
    Path copy = copies.get(0);
    assertTrue(copy.getFileName().toString().endsWith("-" + size + "-" + Long.toHexString(crc)));
    assertTrue(ExtractedResource.matches(copy, size, crc));

    FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 3_600_000);
    Files.setLastModifiedTime(copy, old);
    long[] again = sizeAndCrc();
    assertEquals(List.of(size, crc), List.of(again[0], again[1]));
    assertEquals("an intact copy is read, not written again", old, Files.getLastModifiedTime(copy));

    // One byte changed in place (same size): the check finds it and the copy is written again.
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, size / 2);
      b.put(0, (byte) (b.get(0) ^ 0x5a)).rewind();
      ch.write(b, size / 2);
    }
    Files.setLastModifiedTime(copy, old);
    assertFalse(ExtractedResource.matches(copy, size, crc));
    long[] repaired = sizeAndCrc();
    assertEquals(List.of(size, crc), List.of(repaired[0], repaired[1]));
    assertTrue("the damaged copy was replaced", ExtractedResource.matches(copy, size, crc));
    assertEquals(List.of(copy), copies());
  }

  @Test
  public void aCacheThatCannotBeWrittenReadsTheJar() throws Exception {
    Path blocked = tmp.newFile("not-a-directory").toPath();
    System.setProperty("pgembed.cacheDir", blocked.toString());
    long[] read = sizeAndCrc();
    assertEquals(List.of(size, crc), List.of(read[0], read[1]));
  }
}
