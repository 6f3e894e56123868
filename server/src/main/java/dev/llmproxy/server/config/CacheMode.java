package dev.llmproxy.server.config;

/** Which requests of a route the response cache may answer and store. */
public enum CacheMode {
  /** Only deterministic requests: {@code temperature} set to 0, or a {@code seed} given (the default). */
  DETERMINISTIC,
  /** Every request, sampled or not: repeated questions get the first answer back. */
  ALWAYS,
  /** None: every call of the route goes upstream. */
  OFF
}
