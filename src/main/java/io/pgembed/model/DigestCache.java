package io.pgembed.model;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weights' sha256 of the model fingerprint, remembered across starts while the weights file is unchanged (its
 * path, size and modification time; for a jar's entry, the jar's path, the entry's size and CRC-32). Computing it
 * took 0.9 s of the bundled model's 2.5-s load under the launcher's C1-only JIT (0.08 s with C2, whose SHA-NI
 * intrinsic C1 lacks). The cache is one properties file in {@code -Dpgembed.cacheDir}, else
 * {@code $PGEMBED_CACHE_DIR}, else {@code $XDG_CACHE_HOME/pg-embeddings}, else {@code ~/.cache/pg-embeddings};
 * a cache that cannot be read or written is only a slower start, never an error.
 *
 * <pre>{@code
 * String sha = DigestCache.get(DigestCache.fileKey(file), () -> weights.sha256());
 * }</pre>
 */
public final class DigestCache {
  private static final Logger LOG = LoggerFactory.getLogger(DigestCache.class);
  /** The digest's own version: a change to what is hashed changes the keys. */
  private static final String VERSION = "weights-sha256-v1";

  private DigestCache() {}

  /** The cached digest of {@code key}, or {@code compute}'s, then remembered ({@code key} null: computed). */
  public static synchronized String get(String key, Supplier<String> compute) {
    if (key == null) {
      return compute.get();
    }
    Path file = file();
    Properties cache = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      cache.load(in);
    } catch (IOException | IllegalArgumentException none) {
      cache.clear(); // no cache yet, or an unreadable one: computed below
    }
    String cached = cache.getProperty(VERSION + " " + key);
    if (cached != null && cached.matches("[0-9a-f]{64}")) {
      return cached;
    }
    long start = System.nanoTime();
    String digest = compute.get();
    LOG.info("The weights' sha256 (of the model's fingerprint) took {} ms; cached in {} for the next start while"
        + " the weights are unchanged", (System.nanoTime() - start) / 1_000_000, file);
    cache.setProperty(VERSION + " " + key, digest);
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), "digests", ".tmp");
      try (OutputStream out = Files.newOutputStream(tmp)) {
        cache.store(out, "sha256 of model weights (pg-embeddings); safe to delete");
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      LOG.debug("The weights' digest could not be cached in {}: {}", file, e.toString());
    }
    return digest;
  }

  /** A file's identity: its absolute path, size and modification time (null if it cannot be read). */
  public static String fileKey(Path p) {
    try {
      return "file " + p.toAbsolutePath() + " " + Files.size(p) + " " + Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      return null;
    }
  }

  /** A class-path resource's identity: its jar's path and the entry's size and CRC-32, or its file's identity. */
  public static String resourceKey(URL url) {
    if (url == null) {
      return null;
    }
    try {
      if (url.getProtocol().equals("jar")) {
        var entry = jarEntry(url);
        String path = ((JarURLConnection) url.openConnection()).getJarFileURL().getPath();
        return entry == null || entry.getCrc() < 0 ? null
            : "jar " + path + "!" + entry.getName() + " " + entry.getSize() + " " + entry.getCrc();
      }
      if (url.getProtocol().equals("file")) {
        return fileKey(Path.of(url.toURI()));
      }
    } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
      LOG.debug("No cache key for {}: {}", url, e.toString());
    }
    return null;
  }

  /** The jar entry (with its size and CRC-32) a {@code jar:} URL names, read without caching the jar open. */
  static java.util.jar.JarEntry jarEntry(URL url) throws IOException {
    JarURLConnection jar = (JarURLConnection) url.openConnection();
    jar.setUseCaches(false);
    var entry = jar.getJarEntry();
    jar.getJarFile().close();
    return entry;
  }

  static Path file() {
    return dir().resolve("weights-sha256.properties");
  }

  /**
   * The cache directory: {@code -Dpgembed.cacheDir}, else $PGEMBED_CACHE_DIR, else pg-embeddings in $XDG_CACHE_HOME
   * or ~/.cache. runners/cds-archive.sh finds it the same way (without the system property): keep them in step.
   */
  static Path dir() {
    String dir = System.getProperty("pgembed.cacheDir");
    if (dir == null || dir.isBlank()) {
      dir = System.getenv("PGEMBED_CACHE_DIR");
    }
    if (dir == null || dir.isBlank()) {
      String xdg = System.getenv("XDG_CACHE_HOME");
      dir = (xdg != null && !xdg.isBlank() ? xdg : System.getProperty("user.home") + "/.cache") + "/pg-embeddings";
    }
    return Path.of(dir);
  }
}
