package io.pgembed.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A real corpus for benchmarks: short texts from Debian's package descriptions ({@code apt-cache dumpavail}) and
 * long ones from chunks of the JDK's {@code src.zip}. Deterministic for a given machine.
 */
public final class BenchCorpus {
  private BenchCorpus() {}

  public static Path findSrcZip() {
    List<Path> candidates = new ArrayList<>();
    candidates.add(Path.of(System.getProperty("java.home"), "lib", "src.zip"));
    try (var jvms = Files.list(Path.of("/usr/lib/jvm"))) {
      jvms.forEach(j -> candidates.add(j.resolve("lib/src.zip")));
    } catch (IOException ignored) {
      // no /usr/lib/jvm: only java.home is tried
    }
    for (Path p : candidates) {
      if (Files.isReadable(p)) {
        return p;
      }
    }
    throw new IllegalStateException("No JDK src.zip found (tried " + candidates + "); install a JDK with sources");
  }

  /** Up to {@code n} code chunks of 10 to 40 lines. */
  public static List<String> codeChunks(int n, long seed) throws IOException {
    Random random = new Random(seed);
    List<String> out = new ArrayList<>();
    try (ZipFile zip = new ZipFile(findSrcZip().toFile())) {
      List<ZipEntry> entries = new ArrayList<>();
      for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
        ZipEntry z = e.nextElement();
        if (z.getName().endsWith(".java")) {
          entries.add(z);
        }
      }
      Collections.shuffle(entries, random);
      for (ZipEntry z : entries) {
        if (out.size() >= n) {
          break;
        }
        String[] lines = new String(zip.getInputStream(z).readAllBytes(), StandardCharsets.UTF_8).split("\n");
        int start = random.nextInt(Math.max(1, lines.length - 40));
        int len = 10 + random.nextInt(30);
        String chunk = String.join("\n", java.util.Arrays.copyOfRange(lines, start, Math.min(lines.length, start + len)));
        if (!chunk.isBlank()) {
          out.add(chunk);
        }
      }
    }
    return out;
  }

  /** Up to {@code n} package descriptions; empty if apt-cache is not available. */
  public static List<String> packageDescriptions(int n, long seed) {
    List<String> out = new ArrayList<>();
    try {
      Process p = new ProcessBuilder("apt-cache", "dumpavail").redirectErrorStream(false).start();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("Description: ") || line.startsWith("Description-en: ")) {
            out.add(line.substring(line.indexOf(':') + 2));
          }
        }
      }
      p.waitFor();
    } catch (IOException | InterruptedException e) {
      return out;
    }
    Collections.shuffle(out, new Random(seed));
    return new ArrayList<>(out.subList(0, Math.min(n, out.size())));
  }

  /** Every distinct package description this machine's apt knows (60,012 here on 2026-11-30), in a fixed order. */
  public static List<String> uniquePackageDescriptions() {
    List<String> all = packageDescriptions(Integer.MAX_VALUE, 7);
    List<String> out = new ArrayList<>(new java.util.TreeSet<>(all));
    Collections.shuffle(out, new Random(7));
    return out;
  }

  /** Half short, half long texts, interleaved randomly. */
  public static List<String> mixed(int n, long seed) throws IOException {
    List<String> texts = new ArrayList<>(packageDescriptions(n / 2, seed));
    texts.addAll(codeChunks(n - texts.size(), seed));
    Collections.shuffle(texts, new Random(seed));
    return texts;
  }

  /** Creates {@code artifacts (id bigint PRIMARY KEY, content text)} in {@code pg}'s postgres database with the texts. */
  public static void loadArtifacts(io.zonky.test.db.postgres.embedded.EmbeddedPostgres pg, List<String> texts)
      throws java.sql.SQLException {
    try (java.sql.Connection c = pg.getPostgresDatabase().getConnection();
        java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE TABLE artifacts (id bigint PRIMARY KEY, content text)");
      try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO artifacts VALUES (?, ?)")) {
        for (int i = 0; i < texts.size(); i++) {
          ps.setLong(1, i);
          ps.setString(2, texts.get(i));
          ps.addBatch();
        }
        ps.executeBatch();
      }
    }
  }
}
