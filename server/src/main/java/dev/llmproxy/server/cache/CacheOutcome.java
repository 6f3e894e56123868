package dev.llmproxy.server.cache;

import io.grpc.Metadata;
import java.util.Locale;

/** How the cache took part in a call, as reported in the {@code llmproxy-cache} response header. */
enum CacheOutcome {
  /** Answered from a stored entry; no upstream was called. */
  HIT,
  /** Not stored and nothing in flight: this call went upstream (and its answer may be stored). */
  MISS,
  /** Joined an identical call already in flight and received its answer. */
  COALESCED,
  /** The cache was not read: {@code no-cache}, {@code no-store}, or a request that is not cacheable. */
  BYPASS;

  static final Metadata.Key<String> HEADER = Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);

  String headerValue() {
    return name().toLowerCase(Locale.ROOT);
  }
}
