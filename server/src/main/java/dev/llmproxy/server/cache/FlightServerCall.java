package dev.llmproxy.server.cache;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.Objects;

/**
 * The server call that the forwarding chain answers when it runs for a {@link Flight} rather than
 * for one client: what the chain sends lands in the flight, and its readiness is the flight's.
 * Method, attributes and authority are those of the client call that started the flight.
 */
final class FlightServerCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
  private final Flight flight;
  private final ServerCall<ReqT, RespT> origin;

  FlightServerCall(Flight flight, ServerCall<ReqT, RespT> origin) {
    this.flight = Objects.requireNonNull(flight, "flight");
    this.origin = Objects.requireNonNull(origin, "origin");
  }

  @Override
  public void request(int numMessages) {
    // The request message was handed to the chain directly; there is nothing more to read.
  }

  @Override
  public void sendHeaders(Metadata headers) {
    flight.headers(headers);
  }

  @Override
  public void sendMessage(RespT message) {
    flight.append(message);
  }

  @Override
  public void close(Status status, Metadata trailers) {
    flight.finish(status, trailers);
  }

  @Override
  public boolean isReady() {
    return flight.upstreamMayProceed();
  }

  @Override
  public boolean isCancelled() {
    return flight.isCancelled();
  }

  @Override
  public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
    return origin.getMethodDescriptor();
  }

  @Override
  public Attributes getAttributes() {
    return origin.getAttributes();
  }

  @Override
  public String getAuthority() {
    return origin.getAuthority();
  }
}
