package dev.llmproxy.client;

import io.grpc.Metadata;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What llmproxy said about a call in its response metadata: whether the cache answered, which upstream
 * served the call, and what the caller's API key has left. Every value is optional: a header that is
 * absent (an older proxy, a feature that is off, a cache hit that called no upstream) or malformed
 * reads as empty. Immutable.
 */
public final class ResponseMetadata {
  /** Response header: {@code hit}, {@code miss}, {@code coalesced} or {@code bypass}. */
  public static final String CACHE_HEADER = "llmproxy-cache";
  /** Response header: the upstream that served the call. */
  public static final String UPSTREAM_HEADER = "llmproxy-upstream";
  /** Response header: requests the API key has left in the current window. */
  public static final String REMAINING_REQUESTS_HEADER = "llmproxy-ratelimit-remaining-requests";
  /** Response header: tokens the API key has left in the current window. */
  public static final String REMAINING_TOKENS_HEADER = "llmproxy-ratelimit-remaining-tokens";

  private static final ResponseMetadata EMPTY = new ResponseMetadata(Map.of());

  private final Map<String, String> values;

  private ResponseMetadata(Map<String, String> values) {
    this.values = values;
  }

  /**
   * Metadata with no values, for a call that received none.
   *
   * @return the empty metadata
   */
  public static ResponseMetadata empty() {
    return EMPTY;
  }

  /**
   * The text (non-binary) entries of {@code parts}, first value of a name wins, earlier parts first;
   * null parts are skipped. Headers come before trailers, which a trailers-only response uses instead.
   */
  static ResponseMetadata of(Metadata... parts) {
    Map<String, String> values = new LinkedHashMap<>();
    for (Metadata part : parts) {
      if (part == null) {
        continue;
      }
      for (String name : part.keys()) {
        if (!name.endsWith(Metadata.BINARY_HEADER_SUFFIX) && !values.containsKey(name)) {
          String value = part.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
          if (value != null) {
            values.put(name, value);
          }
        }
      }
    }
    return values.isEmpty() ? EMPTY : new ResponseMetadata(Collections.unmodifiableMap(values));
  }

  /**
   * How the response cache answered ({@value #CACHE_HEADER}).
   *
   * @return the cache status; empty if the proxy did not say, or said something this SDK does not know
   */
  public Optional<CacheStatus> cacheStatus() {
    return get(CACHE_HEADER).flatMap(CacheStatus::parse);
  }

  /**
   * The upstream that served the call ({@value #UPSTREAM_HEADER}).
   *
   * @return its configured name or address; empty on a cache hit
   */
  public Optional<String> upstream() {
    return get(UPSTREAM_HEADER);
  }

  /**
   * Requests the API key has left in the current quota window ({@value #REMAINING_REQUESTS_HEADER}).
   *
   * @return the count; empty if not reported
   */
  public OptionalLong remainingRequests() {
    return number(REMAINING_REQUESTS_HEADER);
  }

  /**
   * Tokens the API key has left in the current quota window ({@value #REMAINING_TOKENS_HEADER}).
   *
   * @return the count; empty if not reported
   */
  public OptionalLong remainingTokens() {
    return number(REMAINING_TOKENS_HEADER);
  }

  /**
   * The value of any text header or trailer of the response.
   *
   * @param name a header name, case-insensitive
   * @return its first value, or empty if absent
   */
  public Optional<String> get(String name) {
    return Optional.ofNullable(values.get(name.toLowerCase(Locale.ROOT)));
  }

  /**
   * Every text header and trailer of the response.
   *
   * @return header name to first value, in arrival order; unmodifiable
   */
  public Map<String, String> asMap() {
    return values;
  }

  private OptionalLong number(String name) {
    String value = values.get(name);
    if (value == null) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(value.trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ResponseMetadata that && values.equals(that.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return "ResponseMetadata" + values;
  }
}
