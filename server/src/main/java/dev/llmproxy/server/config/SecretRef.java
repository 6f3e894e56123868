package dev.llmproxy.server.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Where a secret comes from: an environment variable ({@code {env: NAME}}) or a file
 * ({@code {file: /path}}), never the config file itself. The value is read by {@link #resolve}
 * at start (a missing variable or file stops the proxy, naming the setting), and never appears in
 * {@link #toString()}, logs, metrics or errors.
 *
 * @param path the setting's path, for errors ({@code routes[0].api_key})
 * @param env the environment variable's name, or {@code null}
 * @param file the file, or {@code null}
 */
public record SecretRef(String path, String env, Path file) {

  public SecretRef {
    Objects.requireNonNull(path, "path");
    if ((env == null) == (file == null)) {
      throw new IllegalArgumentException("exactly one of env and file");
    }
  }

  /** Reads {@code {env: NAME}} or {@code {file: PATH}} at {@code path}; a literal string is refused, unshown. */
  public static SecretRef from(String path, Object value) {
    if (value instanceof String) {
      throw ConfigException.invalid(path, "(a literal secret, not shown)",
          "{env: VARIABLE} or {file: /path}; secrets are never written in the config file");
    }
    ConfigNode node = ConfigNode.of(path, value);
    String env = node.string("env", null);
    String file = node.string("file", null);
    node.rejectUnknownKeys();
    if ((env == null) == (file == null)) {
      throw ConfigException.invalid(path, env == null ? null : "both env and file", "{env: VARIABLE} or {file: /path}");
    }
    return new SecretRef(path, env, file == null ? null : Path.of(file));
  }

  /** Reads the secret from the process environment or the file system. */
  public String resolve() {
    return resolve(System.getenv());
  }

  /**
   * Reads the secret; a file's content is stripped of surrounding white space (a trailing newline).
   *
   * @throws ConfigException naming the setting when the variable is unset or empty, or the file
   *     cannot be read or is empty
   */
  public String resolve(Map<String, String> environment) {
    return resolve(environment::get);
  }

  private String resolve(Function<String, String> environment) {
    if (env != null) {
      String value = environment.apply(env);
      if (value == null || value.isBlank()) {
        throw ConfigException.invalid(path + ".env", env, "an environment variable that is set and not empty");
      }
      return value.strip();
    }
    String value;
    try {
      value = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException | RuntimeException e) {
      throw ConfigException.invalid(path + ".file", file.toString(),
          "a readable file (" + e.getClass().getSimpleName() + ")");
    }
    if (value.isEmpty()) {
      throw ConfigException.invalid(path + ".file", file.toString(), "a file holding the secret, not an empty one");
    }
    return value;
  }

  @Override
  public String toString() {
    return env != null ? "{env: " + env + "}" : "{file: " + file + "}";
  }
}
