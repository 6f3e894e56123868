package dev.llmproxy.server.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A read-only view of one mapping in a parsed YAML document that knows its own path, so every
 * error names the exact setting ({@code routes[1].upstreams[0]}). Readers mark the keys they
 * consume; {@link #rejectUnknownKeys()} then refuses typos instead of silently ignoring them.
 */
public final class ConfigNode {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)?");

  private final String path;
  private final Map<String, Object> values;
  private final Set<String> read = new TreeSet<>();

  private ConfigNode(String path, Map<String, Object> values) {
    this.path = path;
    this.values = values;
  }

  /** The document root; {@code null} (an empty document) is an empty mapping. */
  public static ConfigNode root(Object document) {
    return of("", document);
  }

  static ConfigNode of(String path, Object value) {
    if (value == null) {
      return new ConfigNode(path, Map.of());
    }
    if (!(value instanceof Map<?, ?> map)) {
      throw ConfigException.invalid(path.isEmpty() ? "(document)" : path, typeName(value), "a mapping");
    }
    Map<String, Object> copy = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String key)) {
        throw ConfigException.invalid(path(path, String.valueOf(e.getKey())), e.getKey(),
            e.getKey() instanceof Boolean ? "a text key; YAML reads on, off, yes and no as true or false" : "a text key");
      }
      copy.put(key, e.getValue());
    }
    return new ConfigNode(path, Collections.unmodifiableMap(copy));
  }

  public String path() {
    return path;
  }

  public String pathOf(String key) {
    return path(path, key);
  }

  public boolean has(String key) {
    return values.containsKey(key) && values.get(key) != null;
  }

  /** A nested mapping; an absent key reads as an empty mapping. */
  public ConfigNode child(String key) {
    return of(pathOf(key), take(key));
  }

  public String string(String key, String defaultValue) {
    Object v = take(key);
    if (v == null) {
      return defaultValue;
    }
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Number || v instanceof Boolean) {
      return String.valueOf(v);
    }
    throw ConfigException.invalid(pathOf(key), typeName(v), "a string");
  }

  public String requiredString(String key) {
    String s = string(key, null);
    if (s == null || s.isBlank()) {
      throw ConfigException.invalid(pathOf(key), s, "a non-empty string");
    }
    return s;
  }

  public int integer(String key, int defaultValue, int min, int max) {
    return (int) longValue(key, defaultValue, min, max);
  }

  public long longValue(String key, long defaultValue, long min, long max) {
    Object v = take(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < min
        || ((Number) v).longValue() > max) {
      throw ConfigException.invalid(pathOf(key), v, "an integer from " + min + " to " + max);
    }
    return ((Number) v).longValue();
  }

  public double number(String key, double defaultValue, double min, double max) {
    Object v = take(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Number n) || Double.isNaN(n.doubleValue()) || n.doubleValue() < min
        || n.doubleValue() > max) {
      throw ConfigException.invalid(pathOf(key), v, "a number from " + min + " to " + max);
    }
    return n.doubleValue();
  }

  public boolean bool(String key, boolean defaultValue) {
    Object v = take(key);
    if (v == null) {
      return defaultValue;
    }
    if (!(v instanceof Boolean b)) {
      throw ConfigException.invalid(pathOf(key), v, "true or false");
    }
    return b;
  }

  /** A duration written as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h} or {@code 0}. */
  public Duration duration(String key, Duration defaultValue) {
    Object v = take(key);
    if (v == null) {
      return defaultValue;
    }
    return parseDuration(pathOf(key), String.valueOf(v));
  }

  /** A duration as {@link #duration(String, Duration)} reads it, from {@code min} to {@code max}. */
  public Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
    Object v = values.get(key);
    Duration d = duration(key, defaultValue);
    if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      throw ConfigException.invalid(pathOf(key), String.valueOf(v),
          "a duration from " + format(min) + " to " + format(max));
    }
    return d;
  }

  /** Checks a duration set in code (not read from a file) against its range. */
  static Duration checked(String path, Duration d, Duration min, Duration max) {
    if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      throw ConfigException.invalid(path, d == null ? null : format(d),
          "a duration from " + format(min) + " to " + format(max));
    }
    return d;
  }

  /** {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}: the largest unit that is exact. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 3_600_000 == 0 && ms != 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms != 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + (ms == 0 ? "" : "s");
    }
    return ms + "ms";
  }

  public static Duration parseDuration(String path, String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches() || (m.group(2) == null && !m.group(1).equals("0"))) {
      throw ConfigException.invalid(path, text, "a duration such as 250ms, 30s, 5m or 0");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw ConfigException.invalid(path, text, "a duration such as 250ms, 30s, 5m or 0");
    }
    String unit = m.group(2) == null ? "ms" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  public <E extends Enum<E>> E enumValue(String key, E defaultValue, Class<E> type) {
    String s = string(key, null);
    if (s == null) {
      return defaultValue;
    }
    for (E e : type.getEnumConstants()) {
      if (e.name().equalsIgnoreCase(s)) {
        return e;
      }
    }
    List<String> names = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      names.add(e.name().toLowerCase(java.util.Locale.ROOT));
    }
    throw ConfigException.invalid(pathOf(key), s, "one of " + String.join(", ", names));
  }

  public List<String> strings(String key) {
    return list(key, (p, v) -> {
      if (v instanceof String s && !s.isBlank()) {
        return s;
      }
      throw ConfigException.invalid(p, v, "a non-empty string");
    });
  }

  /** A list whose items are mappings. */
  public List<ConfigNode> nodes(String key) {
    return list(key, ConfigNode::of);
  }

  /** A list of arbitrary items, each converted with its own path. */
  public <T> List<T> list(String key, ItemReader<T> reader) {
    Object v = take(key);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> items)) {
      throw ConfigException.invalid(pathOf(key), typeName(v), "a list");
    }
    List<T> out = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      out.add(reader.read(pathOf(key) + "[" + i + "]", items.get(i)));
    }
    return List.copyOf(out);
  }

  /** The raw value under {@code key}, for settings that accept several shapes. */
  public Object raw(String key) {
    return take(key);
  }

  /** Fails on the first key no reader asked for: a typo must not silently fall back to a default. */
  public ConfigNode rejectUnknownKeys() {
    for (String key : values.keySet()) {
      if (!read.contains(key)) {
        throw new ConfigException(pathOf(key) + ": unknown setting (expected one of: "
            + String.join(", ", read.isEmpty() ? Set.of("(none)") : read) + ")");
      }
    }
    return this;
  }

  /** Marks keys as known without reading them (for settings that are read elsewhere). */
  public ConfigNode allow(String... keys) {
    Collections.addAll(read, keys);
    return this;
  }

  private Object take(String key) {
    read.add(key);
    return values.get(key);
  }

  private static String path(String parent, String key) {
    return parent.isEmpty() ? key : parent + "." + key;
  }

  static String typeName(Object v) {
    if (v instanceof Map) {
      return "a mapping";
    }
    if (v instanceof List) {
      return "a list";
    }
    return v == null ? "nothing" : String.valueOf(v);
  }

  /** Converts one list item; {@code path} names it for errors. */
  @FunctionalInterface
  public interface ItemReader<T> {
    T read(String path, Object value);
  }

}
