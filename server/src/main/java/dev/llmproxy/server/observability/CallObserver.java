package dev.llmproxy.server.observability;

/**
 * Something that wants to know about the calls the proxy serves: metrics, the access log. Called by
 * {@link CallObservingServerInterceptor} on the call's own threads, so implementations must be fast
 * and must never block: {@link #onMessage} runs once per streamed token.
 */
public interface CallObserver {
  /** A response message was sent to the client. Must not allocate or log. */
  default void onMessage(CallStats call) {}

  /** The call was closed; {@code call} is complete and is not touched by the proxy any more. */
  void onClose(CallStats call);
}
