package dev.llmproxy.server.quota;

/** What the proxy does with a call when the shared quota store cannot answer in time. */
public enum FailureMode {
  /** Admit the call uncounted by the store (counted in metrics, logged once per interval). */
  OPEN,
  /** Refuse the call with {@code UNAVAILABLE}. */
  CLOSED
}
