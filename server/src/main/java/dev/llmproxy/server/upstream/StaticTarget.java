package dev.llmproxy.server.upstream;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed path of a {@code static:///host1:port1,host2:port2} target: the backends in the order
 * given. Parsing fails fast with an {@link IllegalArgumentException} that names the bad entry and
 * says what was expected, so a typo in the upstream list stops the channel from being built instead
 * of surfacing later as UNAVAILABLE.
 */
final class StaticTarget {
  static final String EXPECTED = "host:port, e.g. 10.0.0.5:7000, llm-a.internal:7000 or [::1]:7000";

  private final List<HostPort> backends;

  private StaticTarget(List<HostPort> backends) {
    this.backends = List.copyOf(backends);
  }

  List<HostPort> backends() {
    return backends;
  }

  /**
   * Parses a comma-separated list of {@code host:port} entries (whitespace around entries is
   * ignored).
   *
   * @param list the entries, for example the decoded path of a target without its leading slash
   * @param target the whole target, quoted in error messages
   */
  static StaticTarget parse(String list, String target) {
    if (list.isBlank()) {
      throw new IllegalArgumentException("static target \"" + target
          + "\" names no backends (expected: static:///host1:port1,host2:port2)");
    }
    String[] entries = list.split(",", -1);
    List<HostPort> backends = new ArrayList<>(entries.length);
    Map<HostPort, Integer> positions = new HashMap<>();
    for (int i = 0; i < entries.length; i++) {
      int position = i + 1;
      HostPort backend = parseEntry(entries[i].strip(), position, target);
      Integer earlier = positions.putIfAbsent(backend, position);
      if (earlier != null) {
        throw new IllegalArgumentException(describe(target, position, entries[i].strip())
            + " repeats entry " + earlier + " (expected: each backend once)");
      }
      backends.add(backend);
    }
    return new StaticTarget(backends);
  }

  private static HostPort parseEntry(String entry, int position, String target) {
    if (entry.isEmpty()) {
      throw new IllegalArgumentException("static target \"" + target + "\": entry " + position
          + " is empty (expected: " + EXPECTED + ")");
    }
    String host;
    String port;
    if (entry.startsWith("[")) {
      int close = entry.indexOf(']');
      if (close < 0 || close + 1 >= entry.length() || entry.charAt(close + 1) != ':') {
        throw malformed(target, position, entry);
      }
      host = entry.substring(1, close);
      port = entry.substring(close + 2);
      if (host.isEmpty() || host.indexOf(':') < 0) {
        throw new IllegalArgumentException(describe(target, position, entry)
            + ": brackets are for IPv6 addresses (expected: " + EXPECTED + ")");
      }
    } else {
      int colon = entry.lastIndexOf(':');
      if (colon < 0) {
        throw malformed(target, position, entry);
      }
      host = entry.substring(0, colon);
      port = entry.substring(colon + 1);
      if (host.indexOf(':') >= 0) {
        throw new IllegalArgumentException(describe(target, position, entry)
            + ": an IPv6 address must be in brackets (expected: [address]:port, e.g. [::1]:7000)");
      }
    }
    if (host.isEmpty() || !isPlausibleHost(host, entry.startsWith("["))) {
      throw malformed(target, position, entry);
    }
    return new HostPort(host, parsePort(port, target, position, entry));
  }

  private static int parsePort(String port, String target, int position, String entry) {
    if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(describe(target, position, entry) + ": port \"" + port
          + "\" (expected: a number from 1 to 65535)");
    }
    int value = Integer.parseInt(port);
    if (value < 1 || value > 65535) {
      throw new IllegalArgumentException(describe(target, position, entry) + ": port " + value
          + " (expected: a number from 1 to 65535)");
    }
    return value;
  }

  // Rejects what cannot be a host name or IP literal (spaces, slashes, '@', ...) without judging
  // whether the name exists; that is the resolver's job. ':' and a zone's '%' only in IPv6.
  private static boolean isPlausibleHost(String host, boolean ipv6) {
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '-' || c == '_' || (ipv6 && (c == ':' || c == '%'));
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static IllegalArgumentException malformed(String target, int position, String entry) {
    return new IllegalArgumentException(
        describe(target, position, entry) + " is malformed (expected: " + EXPECTED + ")");
  }

  private static String describe(String target, int position, String entry) {
    return "static target \"" + target + "\": entry " + position + " \"" + entry + "\"";
  }
}
