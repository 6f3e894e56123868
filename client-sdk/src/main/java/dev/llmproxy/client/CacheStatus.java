package dev.llmproxy.client;

import java.util.Locale;
import java.util.Optional;

/** How llmproxy's response cache answered a call: the {@code llmproxy-cache} response header. */
public enum CacheStatus {
  /** Answered from the cache; no upstream was called. */
  HIT,
  /** Not in the cache: an upstream answered, and the answer was stored. */
  MISS,
  /** Joined an identical call that was already in flight, and shared its answer. */
  COALESCED,
  /** The cache was not read: the call asked for {@code no-cache} or {@code no-store}, or was not cacheable. */
  BYPASS;

  /** The status a header value names, case-insensitively; empty for a value this SDK does not know. */
  static Optional<CacheStatus> parse(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "hit" -> Optional.of(HIT);
      case "miss" -> Optional.of(MISS);
      case "coalesced" -> Optional.of(COALESCED);
      case "bypass" -> Optional.of(BYPASS);
      default -> Optional.empty();
    };
  }
}
