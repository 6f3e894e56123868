package dev.llmproxy.server.observability;

import io.grpc.Metadata;

/**
 * Something that wants to know about the calls the proxy serves: metrics, the access log. Called by
 * {@link CallObservingServerInterceptor} on the call's own threads, so implementations must be fast
 * and must never block: {@link #onMessage} runs once per streamed token.
 */
public interface CallObserver {
  /**
   * A call arrived, before any inner interceptor saw it. {@code headers} are the request headers
   * the rest of the chain will read, and may be changed (the tracer puts its own
   * {@code traceparent} there, so that the upstream call carries it).
   */
  default void onStart(CallStats call, Metadata headers) {}

  /** A response message was sent to the client. Must not allocate or log. */
  default void onMessage(CallStats call) {}

  /** The call was closed; {@code call} is complete and is not touched by the proxy any more. */
  void onClose(CallStats call);
}
