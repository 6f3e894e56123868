package dev.llmproxy.server.cache;

import java.util.Locale;

/** What a client asked of the cache in the {@code llmproxy-cache-control} request header. */
enum CacheControl {
  /** No header: the route's rules decide. */
  DEFAULT,
  /** {@code no-cache}: do not answer from the cache, but store the fresh answer. */
  NO_CACHE,
  /** {@code no-store}: neither read nor store. */
  NO_STORE;

  static final String HEADER = "llmproxy-cache-control";

  /**
   * Reads the header's values (several values, or one comma-separated list, combine; {@code no-store}
   * wins over {@code no-cache}).
   *
   * @throws IllegalArgumentException naming the value, for anything but {@code no-cache} and
   *     {@code no-store}: a misspelt directive must not silently let an answer be cached
   */
  static CacheControl parse(Iterable<String> values) {
    CacheControl control = DEFAULT;
    if (values == null) {
      return control;
    }
    for (String value : values) {
      for (String part : value.split(",", -1)) {
        String directive = part.trim().toLowerCase(Locale.ROOT);
        switch (directive) {
          case "no-store" -> control = NO_STORE;
          case "no-cache" -> control = control == NO_STORE ? NO_STORE : NO_CACHE;
          default -> throw new IllegalArgumentException(HEADER + ": \"" + abbreviate(part.trim())
              + "\" (expected: no-cache or no-store)");
        }
      }
    }
    return control;
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
