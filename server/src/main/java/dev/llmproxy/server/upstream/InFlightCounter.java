package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the calls in flight to one endpoint. The picker hands this factory to gRPC with every pick
 * of the endpoint; the tracer it makes counts the stream from {@code streamCreated} until
 * {@code streamClosed}, i.e. for as long as an LLM generation is running there.
 *
 * <p>One counter lives as long as the endpoint's child balancer, across picker rebuilds, so calls
 * started under an old picker are still counted down.
 */
final class InFlightCounter extends ClientStreamTracer.Factory {
  private final AtomicInteger inFlight = new AtomicInteger();

  /** Calls currently in flight. */
  int get() {
    return inFlight.get();
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info,
      Metadata headers) {
    return new Tracer();
  }

  @Override
  public String toString() {
    return "InFlightCounter{" + inFlight.get() + "}";
  }

  private final class Tracer extends ClientStreamTracer {
    // gRPC may close a stream that was never created (the transport went away between the pick
    // and newStream, or the call was cancelled while pending): only count down what was counted up.
    private volatile boolean counted;

    @Override
    public void streamCreated(Attributes transportAttrs, Metadata headers) {
      counted = true;
      inFlight.incrementAndGet();
    }

    @Override
    public void streamClosed(Status status) {
      if (counted) {
        counted = false;
        inFlight.decrementAndGet();
      }
    }
  }
}
