package io.pgembed.model;

import java.nio.file.Path;
import org.junit.rules.ExternalResource;

/** Points {@code -Dpgembed.cacheDir} at {@code dir} for one test and puts the earlier value back after it. */
final class OwnCacheDir extends ExternalResource {
  private final java.util.function.Supplier<Path> dir;
  private String before;

  OwnCacheDir(java.util.function.Supplier<Path> dir) {
    this.dir = dir;
  }

  @Override
  protected void before() {
    before = System.getProperty("pgembed.cacheDir");
    System.setProperty("pgembed.cacheDir", dir.get().toString());
  }

  @Override
  protected void after() {
    if (before == null) {
      System.clearProperty("pgembed.cacheDir");
    } else {
      System.setProperty("pgembed.cacheDir", before);
    }
  }
}
