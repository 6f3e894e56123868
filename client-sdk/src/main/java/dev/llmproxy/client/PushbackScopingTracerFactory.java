package dev.llmproxy.client;

import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;

/**
 * Confines the server's retry pushback to the status the client retries, {@code UNAVAILABLE}.
 *
 * <p>Why: grpc-java's retry (RetriableStream's retry decision, 1.85) retries a failed attempt whose
 * trailers carry a non-negative {@code grpc-retry-pushback-ms} whatever its status code, not only the
 * {@code retryableStatusCodes} of the service config. llmproxy sends that trailer with a quota
 * rejection ({@code RESOURCE_EXHAUSTED}), so a key out of requests for the next 40 seconds would make a
 * call sleep 40 seconds and try again, up to {@code maxAttempts} times, and most likely end as
 * {@code DEADLINE_EXCEEDED} with the quota details lost. The SDK instead reports a quota rejection at
 * once, as a {@link QuotaExceededException} that says when to retry.
 *
 * <p>How: a tracer per attempt is handed the attempt's trailers ({@code inboundTrailers}) and then its
 * status ({@code streamClosed}), both before the retry decision reads the same trailers. For any status
 * but {@code UNAVAILABLE} it moves the pushback to {@link #HELD_PUSHBACK_MS}, which the retry ignores and
 * the exception mapping still reads. An {@code UNAVAILABLE} pushback is left alone, so gRPC waits as
 * long as the server asked before the next attempt (or does not retry at all for a negative one).
 */
final class PushbackScopingTracerFactory extends ClientStreamTracer.Factory {
  /** Where a pushback that must not drive a retry is kept, for the caller's retry-after. */
  static final Metadata.Key<String> HELD_PUSHBACK_MS =
      Metadata.Key.of("llmproxy-client-held-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
    return new Tracer();
  }

  private static final class Tracer extends ClientStreamTracer {
    // Set and read on the attempt's transport thread, in this order.
    private Metadata trailers;

    @Override
    public void inboundTrailers(Metadata trailers) {
      this.trailers = trailers;
    }

    @Override
    public void streamClosed(Status status) {
      if (trailers == null || status.getCode() == Status.Code.UNAVAILABLE) {
        return;
      }
      Iterable<String> pushback = trailers.removeAll(StatusExceptionMapper.RETRY_PUSHBACK_MS);
      if (pushback != null) {
        for (String value : pushback) {
          trailers.put(HELD_PUSHBACK_MS, value);
        }
      }
    }
  }
}
