package dev.llmproxy.server.quota;

/** The limits a call can run into, as named in statuses, metrics and {@code QuotaFailure}. */
public enum QuotaLimit {
  REQUESTS("requests"),
  TOKENS("tokens"),
  CONCURRENCY("concurrent_calls");

  private final String label;

  QuotaLimit(String label) {
    this.label = label;
  }

  /** The lower-case name used in messages, metric tags and {@code QuotaFailure} violations. */
  public String label() {
    return label;
  }
}
