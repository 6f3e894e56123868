package dev.llmproxy.server.limits;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerStreamTracer;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A proxy-wide budget of bytes held for request messages that have begun to arrive but are not
 * complete yet.
 *
 * <p>Why: grpc gives the HTTP/2 flow-control window back as it reads a message's bytes, long
 * before the message is whole, so a client can make the proxy hold {@code max_request_bytes} on
 * every stream it opens without ever finishing one; the interceptors and quotas see nothing until a
 * whole message arrives. Bytes that grpc has not read are bounded by the connection's window;
 * these are the ones that are not.
 *
 * <p>How: a {@link ServerStreamTracer} per stream adds the wire bytes grpc reads for the message
 * being received ({@code inboundWireSize} between {@code inboundMessage} and
 * {@code inboundMessageRead}) to one counter and takes them off again when the message is complete
 * or the stream ends; and to its connection's counter (kept in the transport's attributes by
 * {@link #transportFilter()}), so that one connection cannot spend the whole budget and lock the
 * other clients out. A stream whose bytes take either counter past its budget is refused with
 * RESOURCE_EXHAUSTED (the tracer cannot close a call, so it asks the call's
 * {@link IncompleteRequestServerInterceptor} to, on {@code closer}, off the transport thread), and
 * while the budget (or its connection's share) is spent new calls are refused at their headers.
 * Every refusal is counted.
 */
public final class IncompleteRequestBudget extends ServerStreamTracer.Factory {
  static final Context.Key<StreamAccount> ACCOUNT = Context.key("llmproxy-incomplete-request");
  private static final Attributes.Key<AtomicLong> CONNECTION = Attributes.Key.create("llmproxy-incomplete-request");

  private final long maxBytes;
  private final long maxBytesPerConnection;
  private final Executor closer;
  private final AtomicLong held = new AtomicLong();
  private final Counter refusedAtHeaders;
  private final Counter refusedMidMessage;

  /**
   * @param maxBytes the budget, over every stream of the proxy
   * @param maxBytesPerConnection the budget of the streams of one connection
   * @param closer runs the closing of over-budget calls (not a transport thread's work)
   */
  public IncompleteRequestBudget(long maxBytes, long maxBytesPerConnection, Executor closer, MeterRegistry meters) {
    if (maxBytes < 1 || maxBytesPerConnection < 1) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + ", maxBytesPerConnection: "
          + maxBytesPerConnection + " (expected: > 0)");
    }
    this.maxBytes = maxBytes;
    this.maxBytesPerConnection = maxBytesPerConnection;
    this.closer = closer;
    Gauge.builder("llmproxy.server.incomplete.request.bytes", held, AtomicLong::get)
        .description("Bytes held for request messages that have begun but not finished arriving")
        .baseUnit("bytes").register(meters);
    this.refusedAtHeaders = refusals(meters, "budget_spent");
    this.refusedMidMessage = refusals(meters, "over_budget");
  }

  private static Counter refusals(MeterRegistry meters, String reason) {
    return Counter.builder("llmproxy.server.incomplete.request.refusals").tag("reason", reason)
        .description("Calls refused with RESOURCE_EXHAUSTED because unfinished requests held too many bytes")
        .register(meters);
  }

  /** Bytes held for unfinished request messages now. */
  public long heldBytes() {
    return held.get();
  }

  /** The interceptor that closes the calls this budget refuses; install it outermost. */
  public IncompleteRequestServerInterceptor interceptor() {
    return new IncompleteRequestServerInterceptor(this);
  }

  /** Gives each connection its own counter; install it on the server with the tracer. */
  public ServerTransportFilter transportFilter() {
    return new ServerTransportFilter() {
      @Override
      public Attributes transportReady(Attributes attributes) {
        return attributes.toBuilder().set(CONNECTION, new AtomicLong()).build();
      }
    };
  }

  /** Whether a new call on the connection with these attributes would find the budget spent. */
  boolean spent(Attributes callAttributes) {
    AtomicLong connection = callAttributes.get(CONNECTION);
    return held.get() >= maxBytes || (connection != null && connection.get() >= maxBytesPerConnection);
  }

  void refusedAtHeaders() {
    refusedAtHeaders.increment();
  }

  Status refusal() {
    return Status.RESOURCE_EXHAUSTED.withDescription("llmproxy: too many bytes of unfinished requests in flight "
        + "(server.max_incomplete_request_bytes " + maxBytes + ", per connection " + maxBytesPerConnection
        + "); retry later");
  }

  @Override
  public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
    return new StreamAccount();
  }

  /** One stream's share of the budget; its events arrive one at a time, from grpc's deframer. */
  final class StreamAccount extends ServerStreamTracer {
    private final AtomicLong mine = new AtomicLong();
    private volatile AtomicLong connection;
    private volatile boolean reading;
    private volatile boolean refused;
    private volatile Runnable refuse;

    @Override
    public Context filterContext(Context context) {
      return context.withValue(ACCOUNT, this);
    }

    @Override
    public void serverCallStarted(ServerCallInfo<?, ?> callInfo) {
      connection = callInfo.getAttributes().get(CONNECTION);
    }

    @Override
    public void inboundMessage(int seqNo) {
      reading = true;
    }

    @Override
    public void inboundWireSize(long bytes) {
      if (!reading || bytes <= 0) {
        return;
      }
      mine.addAndGet(bytes);
      AtomicLong conn = connection;
      boolean connectionOver = conn != null && conn.addAndGet(bytes) > maxBytesPerConnection;
      if ((held.addAndGet(bytes) > maxBytes || connectionOver) && !refused) {
        refused = true;
        refusedMidMessage.increment();
        giveBack();
        Runnable r = refuse;
        if (r != null) {
          closer.execute(r);
        }
      }
    }

    @Override
    public void inboundMessageRead(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
      reading = false;
      giveBack();
    }

    @Override
    public void streamClosed(Status status) {
      reading = false;
      giveBack();
    }

    private void giveBack() {
      long bytes = mine.getAndSet(0);
      if (bytes != 0) {
        held.addAndGet(-bytes);
        AtomicLong conn = connection;
        if (conn != null) {
          conn.addAndGet(-bytes);
        }
      }
    }

    /** Sets what refuses the call; runs it at once (on {@code closer}) if it was refused already. */
    void onRefusal(Runnable action) {
      refuse = action;
      if (refused) {
        closer.execute(action);
      }
    }

    boolean refused() {
      return refused;
    }
  }
}
