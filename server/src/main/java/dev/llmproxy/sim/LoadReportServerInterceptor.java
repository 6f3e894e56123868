package dev.llmproxy.sim;

import dev.llmproxy.orca.LoadReportProto;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.function.BooleanSupplier;

/**
 * Sends the engine's load with every call's trailers as an ORCA per-call report
 * ({@code endpoint-load-metrics-bin}, gRFC A51), whatever the call's status: a call that was
 * refused for a full queue is exactly when the balancer needs to hear about it. Only while
 * {@code enabled} says so.
 */
final class LoadReportServerInterceptor implements ServerInterceptor {
  private final EngineLoadReporter reporter;
  private final BooleanSupplier enabled;

  LoadReportServerInterceptor(EngineLoadReporter reporter, BooleanSupplier enabled) {
    this.reporter = reporter;
    this.enabled = enabled;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        if (enabled.getAsBoolean()) {
          trailers.put(LoadReportProto.TRAILER, LoadReportProto.encode(reporter.report()));
        }
        super.close(status, trailers);
      }
    }, headers);
  }
}
