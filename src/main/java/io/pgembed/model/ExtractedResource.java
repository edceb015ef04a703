package io.pgembed.model;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A large class-path resource (the bundled model's 90 MB of ONNX weights) read from an extracted copy in the cache
 * directory ({@link DigestCache}'s) instead of inflated from the jar at every start: inflating it took 0.65 s of every
 * command's start (this machine, C1 only), reading the copy and checking it about 0.1 s. The copy is named by the
 * jar entry's name, size and CRC-32 and checked against both before every use; a copy that is missing, short or
 * different is written again (a temporary file moved into place, so concurrent starts never see half a copy), and a
 * cache that cannot be written is only the slower start, never an error.
 *
 * <pre>{@code
 * try (InputStream in = ExtractedResource.open(ModelLoader.class.getResource("/all-minilm-l6-v2.onnx"))) { ... }
 * }</pre>
 */
final class ExtractedResource {
  private static final Logger LOG = LoggerFactory.getLogger(ExtractedResource.class);

  private ExtractedResource() {}

  /** {@code url}'s bytes: from the checked copy where {@code url} is a jar entry with a known CRC, else the URL's. */
  static InputStream open(URL url) throws IOException {
    if (url == null) {
      throw new IOException("the resource is not on the classpath");
    }
    if (!url.getProtocol().equals("jar")) {
      return url.openStream();
    }
    var entry = DigestCache.jarEntry(url);
    if (entry == null || entry.getCrc() < 0 || entry.getSize() < 0) {
      return url.openStream();
    }
    String base = entry.getName().substring(entry.getName().lastIndexOf('/') + 1);
    Path copy = DigestCache.dir().resolve(
        "extracted-" + base + "-" + entry.getSize() + "-" + Long.toHexString(entry.getCrc()));
    if (matches(copy, entry.getSize(), entry.getCrc())) {
      return new BufferedInputStream(Files.newInputStream(copy), 1 << 16);
    }
    try {
      Files.createDirectories(copy.getParent());
      Path tmp = Files.createTempFile(copy.getParent(), base, ".tmp");
      try {
        try (InputStream in = url.openStream()) {
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        if (!matches(tmp, entry.getSize(), entry.getCrc())) {
          throw new IOException("the extracted copy does not match the jar entry's size and CRC-32");
        }
        Files.move(tmp, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
      LOG.info("Extracted {} ({} MB) to {}: later starts read it from there", base, entry.getSize() >> 20, copy);
      return new BufferedInputStream(Files.newInputStream(copy), 1 << 16);
    } catch (IOException | RuntimeException e) {
      LOG.debug("{} could not be extracted to {} ({}): read from the jar", base, copy, e.toString());
      return url.openStream();
    }
  }

  /** Whether {@code file} exists with exactly {@code size} bytes of CRC-32 {@code crc}. */
  static boolean matches(Path file, long size, long crc) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) != size) {
        return false;
      }
      CRC32 sum = new CRC32();
      byte[] buf = new byte[1 << 16];
      try (InputStream in = Files.newInputStream(file)) {
        for (int n; (n = in.read(buf)) > 0; ) {
          sum.update(buf, 0, n);
        }
      }
      return sum.getValue() == crc;
    } catch (IOException e) {
      return false;
    }
  }
}
