package dev.llmproxy.server.observability;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;

/**
 * Learns how each server stream really ended, for calls that grpc ends below every interceptor: a
 * request larger than {@code max_request_bytes} or with a framing error is answered by grpc's
 * transport (RESOURCE_EXHAUSTED, INTERNAL) while the interceptors are only told the call was
 * cancelled. The tracer sees the status the client was sent and leaves it in the call's
 * {@link Context}, where {@link CallObservingServerInterceptor} reads it.
 */
public final class StreamEndTracer extends ServerStreamTracer.Factory {
  private static final Context.Key<End> END = Context.key("llmproxy-stream-end");

  /** The status a stream was closed with, once it is known. */
  static final class End {
    private volatile Status status;

    Status status() {
      return status;
    }
  }

  /** The current call's end, or null when the call is not traced (a test serving the service in-process). */
  static End current() {
    return END.get();
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    End end = new End();
    return new ServerStreamTracer() {
      @Override
      public Context filterContext(Context context) {
        return context.withValue(END, end);
      }

      @Override
      public void streamClosed(Status status) {
        end.status = status;
      }
    };
  }
}
