package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.Grpc;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.util.ForwardingClientStreamTracer;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Learns how one upstream call ended and records it against its upstream: the call's status,
 * judged ({@link UpstreamOutcome#of(Status, boolean, boolean)}) with what its {@link
 * UpstreamAttempt} says (caller gone, stalled), and a busy upstream's {@code grpc-retry-pushback-ms}
 * trailer (an OpenAI upstream's {@code Retry-After} arrives as that trailer). Forwards every event to
 * the child policy's own tracer, if it has one.
 */
final class OutcomeTracer extends ForwardingClientStreamTracer {
  static final Metadata.Key<String> PUSHBACK_TRAILER =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
  private static final ClientStreamTracer NOOP = new ClientStreamTracer() {
  };

  private final ClientStreamTracer delegate;
  private final Factory factory;
  // The upstream the stream went to: the transport's remote address (a pick_first subchannel spans
  // several upstreams), else the subchannel's one address.
  private volatile SocketAddress upstream;
  private volatile long pushbackMillis = -1;

  private OutcomeTracer(ClientStreamTracer delegate, Factory factory) {
    this.delegate = delegate;
    this.factory = factory;
  }

  @Override
  protected ClientStreamTracer delegate() {
    return delegate;
  }

  @Override
  public void streamCreated(Attributes transportAttrs, Metadata headers) {
    upstream = transportAttrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    super.streamCreated(transportAttrs, headers);
  }

  @Override
  public void inboundTrailers(Metadata trailers) {
    pushbackMillis = pushbackMillis(trailers);
    super.inboundTrailers(trailers);
  }

  @Override
  public void streamClosed(Status status) {
    super.streamClosed(status);
    SocketAddress address = upstream != null ? upstream : factory.onlyAddress();
    if (address == null) {
      return;
    }
    UpstreamAttempt attempt = factory.attempt;
    UpstreamOutcome outcome = UpstreamOutcome.of(status, attempt != null && attempt.stalled(),
        attempt != null && attempt.callerGone());
    OutlierDetector detector = factory.detector;
    long pushback = pushbackMillis;
    if (outcome == UpstreamOutcome.BUSY && pushback >= 0) {
      detector.recordBusy(address, TimeUnit.MILLISECONDS.toNanos(pushback));
    } else {
      detector.record(address, outcome);
      if (outcome == UpstreamOutcome.FAULT && detector.isEjected(address)) {
        factory.balancer.ejected(address);
      }
    }
  }

  /** The {@code grpc-retry-pushback-ms} trailer, or -1 when absent or not a number. */
  private static long pushbackMillis(Metadata trailers) {
    String value = trailers.get(PUSHBACK_TRAILER);
    try {
      return value == null ? -1 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** One pick's tracers: one per stream (grpc's transparent retries open several). */
  static final class Factory extends ClientStreamTracer.Factory {
    private final ClientStreamTracer.Factory child;
    private final Subchannel subchannel;
    final UpstreamAttempt attempt;
    final OutlierDetector detector;
    final AvoidanceLoadBalancer balancer;

    Factory(ClientStreamTracer.Factory child, Subchannel subchannel, UpstreamAttempt attempt,
        OutlierDetector detector, AvoidanceLoadBalancer balancer) {
      this.child = child;
      this.subchannel = subchannel;
      this.attempt = attempt;
      this.detector = detector;
      this.balancer = balancer;
    }

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
      return new OutcomeTracer(child == null ? NOOP : child.newClientStreamTracer(info, headers), this);
    }

    SocketAddress onlyAddress() {
      List<SocketAddress> addresses = subchannel.getAttributes().get(AvoidanceLoadBalancer.ADDRESSES);
      return addresses != null && addresses.size() == 1 ? addresses.get(0) : null;
    }
  }
}
