package io.pgembed;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The bundled jar that {@code mvn package} built, for the tests that run after it (failsafe's {@code *IT}). */
public final class BundledJar {
  private BundledJar() {}

  /** target/pg-embeddings-*-bundled.jar under {@code root} (the project's directory). */
  public static Path in(Path root) throws IOException {
    try (Stream<Path> s = Files.list(root.resolve("target"))) {
      return s.filter(p -> p.getFileName().toString().matches("pg-embeddings-.*-bundled\\.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no bundled jar in target/: run mvn package (verify does)"));
    }
  }
}
