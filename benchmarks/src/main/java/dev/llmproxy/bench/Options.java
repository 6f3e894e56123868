package dev.llmproxy.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value} (or {@code --name=value}) flags of a benchmark command, with defaults;
 * unknown flags are errors. Public for the commands outside this package ({@code byte-relay}).
 */
public final class Options {
  private final Map<String, String> values = new HashMap<>();
  private final Set<String> read = new HashSet<>();

  /** @throws IllegalArgumentException for an argument that is not a flag, or a flag without value */
  public Options(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        throw new IllegalArgumentException(arg + ": unexpected argument (expected: --flag value)");
      }
      int eq = arg.indexOf('=');
      if (eq > 0) {
        values.put(arg.substring(2, eq), arg.substring(eq + 1));
      } else if (i + 1 < args.length) {
        values.put(arg.substring(2), args[++i]);
      } else {
        throw new IllegalArgumentException(arg + ": missing value");
      }
    }
  }

  public String string(String name, String defaultValue) {
    read.add(name);
    return values.getOrDefault(name, defaultValue);
  }

  public int integer(String name, int defaultValue) {
    String v = string(name, null);
    try {
      return v == null ? defaultValue : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": " + v + " (expected: an integer)");
    }
  }

  double number(String name, double defaultValue) {
    String v = string(name, null);
    try {
      return v == null ? defaultValue : Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + name + ": " + v + " (expected: a number)");
    }
  }

  Duration duration(String name, Duration defaultValue) {
    String v = string(name, null);
    if (v == null) {
      return defaultValue;
    }
    try {
      if (v.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
      } else if (v.endsWith("s")) {
        return Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
      } else if (v.endsWith("m")) {
        return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("--" + name + ": " + v + " (expected: a duration such as 500ms, 10s or 2m)");
  }

  List<Double> numbers(String name, String defaultValue) {
    List<Double> out = new ArrayList<>();
    for (String part : string(name, defaultValue).split(",")) {
      try {
        out.add(Double.parseDouble(part.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--" + name + ": " + part + " (expected: numbers separated by commas)");
      }
    }
    return out;
  }

  /** Fails on a flag no one asked for: a typo must not silently run the default benchmark. */
  public void rejectUnknown() {
    for (String name : values.keySet()) {
      if (!read.contains(name)) {
        throw new IllegalArgumentException("--" + name + ": unknown flag (expected one of: --"
            + String.join(", --", new java.util.TreeSet<>(read)) + ")");
      }
    }
  }
}
