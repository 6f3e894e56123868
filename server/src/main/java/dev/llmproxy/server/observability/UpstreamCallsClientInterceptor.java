package dev.llmproxy.server.observability;

import dev.llmproxy.server.upstream.Route;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Counts what each upstream is doing, seen from the proxy's upstream channels:
 * <ul>
 *   <li>{@code llmproxy.upstream.inflight} (gauge): streams open to the upstream now, from the moment
 *       the transport created the stream until it closed, whatever the load-balancing policy;
 *   <li>{@code llmproxy.upstream.calls} (counter): upstream attempts by final status, including
 *       failures before the first token that never reach a client-visible {@code llmproxy-upstream}.
 * </ul>
 * Installed on every route's channel; it attaches a stream tracer to each call whose options carry
 * {@link Route#CALL_OPTION} (the relay sets it on every upstream call) and names
 * the upstream from the stream's remote address the same way {@code llmproxy-upstream} does.
 */
public final class UpstreamCallsClientInterceptor implements ClientInterceptor {
  private final MeterRegistry registry;
  private final Map<Route, RouteTracers> byRoute = new ConcurrentHashMap<>();

  public UpstreamCallsClientInterceptor(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions, Channel next) {
    Route route = callOptions.getOption(Route.CALL_OPTION);
    if (route == null) {
      return next.newCall(method, callOptions);
    }
    RouteTracers tracers = byRoute.get(route);
    if (tracers == null) {
      tracers = byRoute.computeIfAbsent(route, RouteTracers::new);
    }
    return next.newCall(method, callOptions.withStreamTracerFactory(tracers));
  }

  /** The upstreams of one route, by name. */
  private final class RouteTracers extends ClientStreamTracer.Factory {
    private final Route route;
    private final Map<String, UpstreamCounters> byUpstream = new ConcurrentHashMap<>();

    RouteTracers(Route route) {
      this.route = route;
    }

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
      return new Tracer(this);
    }

    UpstreamCounters counters(SocketAddress address) {
      String name = route.upstreamName(address);
      UpstreamCounters counters = byUpstream.get(name);
      return counters != null ? counters
          : byUpstream.computeIfAbsent(name, n -> new UpstreamCounters(route.name(), n));
    }
  }

  private final class UpstreamCounters {
    final String route;
    final String upstream;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicReferenceArray<Counter> byStatus = new AtomicReferenceArray<>(Status.Code.values().length);

    UpstreamCounters(String route, String upstream) {
      this.route = route;
      this.upstream = upstream;
      Gauge.builder("llmproxy.upstream.inflight", inFlight, AtomicInteger::get)
          .description("Streams open to the upstream")
          .tags("route", route, "upstream", upstream)
          .register(registry);
    }

    void closed(Status.Code code) {
      Counter counter = byStatus.get(code.value());
      if (counter == null) {
        counter = Counter.builder("llmproxy.upstream.calls")
            .description("Upstream call attempts by final status")
            .tags("route", route, "upstream", upstream, "status", code.name())
            .register(registry); // idempotent: a racing registration returns the same counter
        byStatus.set(code.value(), counter);
      }
      counter.increment();
    }
  }

  private static final class Tracer extends ClientStreamTracer {
    private final RouteTracers route;
    private volatile UpstreamCounters counters; // set once the stream exists on a transport

    Tracer(RouteTracers route) {
      this.route = route;
    }

    @Override
    public void streamCreated(Attributes transportAttrs, Metadata headers) {
      UpstreamCounters c = route.counters(transportAttrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
      c.inFlight.incrementAndGet();
      counters = c;
    }

    @Override
    public void streamClosed(Status status) {
      UpstreamCounters c = counters;
      if (c != null) {
        counters = null;
        c.inFlight.decrementAndGet();
        c.closed(status.getCode());
      }
    }
  }
}
