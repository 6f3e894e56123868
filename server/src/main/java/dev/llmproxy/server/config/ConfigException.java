package dev.llmproxy.server.config;

/**
 * A configuration error: names the setting, the bad value and what was expected, in the form
 * {@code routes[0].lb: "rr" (expected: one of round_robin, pick_first, least_outstanding)}.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  /** An error about the value at {@code path}. */
  public static ConfigException invalid(String path, Object value, String expected) {
    return new ConfigException(path + ": " + describe(value) + " (expected: " + expected + ")");
  }

  static String describe(Object value) {
    if (value == null) {
      return "missing";
    }
    if (value instanceof String s) {
      return '"' + s + '"';
    }
    return String.valueOf(value);
  }
}
