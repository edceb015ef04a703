package io.pgembed.db;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds the database password without it ever being an option value: {@code --passwordFile} (a file holding only
 * the password), else {@code PGPASSWORD}, else {@code ~/.pgpass} (or {@code PGPASSFILE}) in libpq's format. Each
 * JVM resolves it for itself, so it is never serialized into a pipeline.
 */
public final class PasswordSource {
  private PasswordSource() {}

  /** The password, or null when none is configured (trust or peer authentication). */
  public static String resolve(String passwordFile, String host, int port, String database, String user) {
    try {
      if (passwordFile != null && !passwordFile.isBlank()) {
        Path p = Path.of(passwordFile);
        if (!Files.isReadable(p)) {
          throw new IllegalArgumentException("--passwordFile=" + passwordFile + " does not exist or cannot be read");
        }
        String password = Files.readString(p, StandardCharsets.UTF_8).strip();
        if (password.isEmpty()) {
          throw new IllegalArgumentException("--passwordFile=" + passwordFile + " is empty: it must hold the password");
        }
        return password;
      }
      String env = System.getenv("PGPASSWORD");
      if (env != null && !env.isEmpty()) {
        return env;
      }
      String passFile = System.getenv("PGPASSFILE");
      Path pgpass = passFile != null ? Path.of(passFile) : Path.of(System.getProperty("user.home"), ".pgpass");
      if (Files.isReadable(pgpass)) {
        return fromPgpass(Files.readAllLines(pgpass, StandardCharsets.UTF_8), host, port, database, user);
      }
      return null;
    } catch (IOException e) {
      // The message names the file, never its content.
      throw new IllegalStateException("could not read the password file: " + e.getClass().getSimpleName(), e);
    }
  }

  /** libpq's rules: {@code host:port:database:user:password}, {@code *} matches anything, first match wins. */
  static String fromPgpass(List<String> lines, String host, int port, String database, String user) {
    for (String line : lines) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      String[] f = splitPgpass(line);
      if (f.length == 5
          && matches(f[0], host)
          && matches(f[1], Integer.toString(port))
          && matches(f[2], database)
          && matches(f[3], user)) {
        return f[4];
      }
    }
    return null;
  }

  private static boolean matches(String pattern, String value) {
    return pattern.equals("*") || pattern.equals(value);
  }

  private static String[] splitPgpass(String line) {
    java.util.List<String> fields = new java.util.ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\' && i + 1 < line.length()) {
        cur.append(line.charAt(++i));
      } else if (c == ':' && fields.size() < 4) {
        fields.add(cur.toString());
        cur.setLength(0);
      } else {
        cur.append(c);
      }
    }
    fields.add(cur.toString());
    return fields.toArray(new String[0]);
  }
}
