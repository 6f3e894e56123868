package dev.llmproxy.server.service;

import dev.llmproxy.server.observability.ThrottledLog;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The forwarding {@code llmproxy.v1.LlmProxy} service: each call goes to the channel of the route
 * that {@link RoutingServerInterceptor} resolved, through a flow-controlled {@link Relay}. Bound
 * with {@link ProxyMethods}, which keep the generated schema, so server reflection describes it;
 * stream chunks from gRPC upstreams are relayed as their bytes.
 */
public final class LlmProxyService {
  private static final Duration FAULT_LOG_INTERVAL = Duration.ofSeconds(10);

  private final HeaderForwarder headerForwarder;
  private final RelaySupport support;

  /**
   * @param timers runs the relays' stall checks; tasks are short and never block
   */
  public LlmProxyService(HeaderForwarder headerForwarder, ScheduledExecutorService timers, MeterRegistry meters) {
    this(headerForwarder, timers, meters, RouteSlots.UNCAPPED);
  }

  /** @param slots room on the routes a call falls back to (their {@code max_in_flight}) */
  public LlmProxyService(HeaderForwarder headerForwarder, ScheduledExecutorService timers, MeterRegistry meters,
      RouteSlots slots) {
    this(headerForwarder, timers, meters, slots, null);
  }

  /**
   * @param attempts intercepts every upstream attempt of this service's calls (the client spans of
   *     its config generation), in front of the route channel's own interceptors; null: none
   */
  public LlmProxyService(HeaderForwarder headerForwarder, ScheduledExecutorService timers, MeterRegistry meters,
      RouteSlots slots, ClientInterceptor attempts) {
    this.headerForwarder = Objects.requireNonNull(headerForwarder, "headerForwarder");
    this.support = new RelaySupport(Objects.requireNonNull(timers, "timers"), System::nanoTime,
        new RelayMetrics(Objects.requireNonNull(meters, "meters")),
        new ThrottledLog(System.getLogger(Relay.class.getName()), FAULT_LOG_INTERVAL, System::nanoTime),
        Objects.requireNonNull(slots, "slots"), attempts);
  }

  public ServerServiceDefinition bindService() {
    return ServerServiceDefinition.builder(ProxyMethods.SERVICE)
        .addMethod(ProxyMethods.COMPLETE, handler(ProxyMethods.COMPLETE))
        .addMethod(ProxyMethods.STREAM_COMPLETE, handler(ProxyMethods.STREAM_COMPLETE))
        .build();
  }

  private <RespT> ServerCallHandler<CompletionRequest, RespT> handler(
      MethodDescriptor<CompletionRequest, RespT> method) {
    return (ServerCall<CompletionRequest, RespT> call, Metadata headers) -> {
      Route route = ProxyContext.ROUTE.get();
      if (route == null) {
        call.close(Status.INTERNAL.withDescription("no route resolved for the call"), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      call.request(1); // the request message, unless an interceptor already delivered it
      return new Relay<>(call, method, route, headerForwarder.upstreamHeaders(headers), support);
    };
  }
}
