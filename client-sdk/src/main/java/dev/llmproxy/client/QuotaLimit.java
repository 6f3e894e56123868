package dev.llmproxy.client;

import java.util.Locale;

/** Which of an API key's limits a {@link QuotaExceededException} ran into. */
public enum QuotaLimit {
  /** Requests per window. */
  REQUESTS,
  /** Tokens per window. */
  TOKENS,
  /** Streams open at once. */
  CONCURRENT_STREAMS,
  /** A limit this SDK does not recognise; see {@link QuotaExceededException#limitDescription()}. */
  UNKNOWN;

  /** The limit a quota violation's description names, by keyword. */
  static QuotaLimit fromDescription(String description) {
    String text = description.toLowerCase(Locale.ROOT);
    if (text.contains("concurrent")) {
      return CONCURRENT_STREAMS;
    }
    if (text.contains("token")) {
      return TOKENS;
    }
    if (text.contains("request")) {
      return REQUESTS;
    }
    return text.contains("stream") ? CONCURRENT_STREAMS : UNKNOWN;
  }
}
