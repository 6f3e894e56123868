package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Forwards one call to its route's channel and relays the answer back, message by message.
 *
 * <p>Flow control: the upstream is asked for one message at a time, and only while the client's
 * side of the stream is ready; otherwise the request waits for the client's {@code onReady}. A
 * client that reads slowly therefore holds the upstream back through HTTP/2 flow control instead
 * of making the proxy buffer the stream. {@code wantMore} is set before readiness is checked, and
 * both sides claim it with a compare-and-set, so exactly one of them issues the request and no
 * wake-up is lost.
 *
 * <p>Threads: server listener events arrive on the client connection's thread, upstream events on
 * the upstream connection's thread. The server call is only sent to from upstream events, so its
 * messages and close stay serialized; the other side only calls the thread-safe
 * {@code ClientCall.request} and {@code cancel}.
 *
 * <p>Deadlines and cancellation: the upstream call is created in the server call's context, so
 * grpc-java applies the client's deadline to it and cancels it when the client goes away.
 */
final class Relay<RespT> extends ServerCall.Listener<CompletionRequest> {
  static final Metadata.Key<String> UPSTREAM_HEADER =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  private final ServerCall<CompletionRequest, RespT> serverCall;
  private final MethodDescriptor<CompletionRequest, RespT> method;
  private final Route route;
  private final Metadata upstreamHeaders;
  private final AtomicBoolean wantMore = new AtomicBoolean();
  private volatile ClientCall<CompletionRequest, RespT> upstream;
  private volatile boolean extraMessage;

  Relay(ServerCall<CompletionRequest, RespT> serverCall, MethodDescriptor<CompletionRequest, RespT> method,
      Route route, Metadata upstreamHeaders) {
    this.serverCall = serverCall;
    this.method = method;
    this.route = route;
    this.upstreamHeaders = upstreamHeaders;
  }

  @Override
  public void onMessage(CompletionRequest request) {
    if (upstream != null) {
      // One request per call: a second message is a client bug; fail the call on the upstream's
      // thread, which owns the server call.
      extraMessage = true;
      upstream.cancel("client sent a second request message", null);
      return;
    }
    ClientCall<CompletionRequest, RespT> call = route.channel().newCall(method, CallOptions.DEFAULT);
    upstream = call;
    call.start(new UpstreamListener(call), upstreamHeaders);
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    serverCall.request(1); // lets half-close (or a stray second message) through
  }

  @Override
  public void onHalfClose() {
    if (upstream == null) {
      serverCall.close(Status.INVALID_ARGUMENT.withDescription(
          "request: missing (expected: one request message)"), new Metadata());
    }
  }

  @Override
  public void onCancel() {
    ClientCall<CompletionRequest, RespT> call = upstream;
    if (call != null) {
      call.cancel("client cancelled", null);
    }
  }

  @Override
  public void onReady() {
    ClientCall<CompletionRequest, RespT> call = upstream;
    if (call != null && serverCall.isReady() && wantMore.compareAndSet(true, false)) {
      call.request(1);
    }
  }

  private final class UpstreamListener extends ClientCall.Listener<RespT> {
    private final ClientCall<CompletionRequest, RespT> call;
    private String upstreamName;
    private boolean headersSent;
    private int messages;

    UpstreamListener(ClientCall<CompletionRequest, RespT> call) {
      this.call = call;
    }

    @Override
    public void onHeaders(Metadata headers) {
      upstreamName = route.upstreamName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    }

    @Override
    public void onMessage(RespT message) {
      sendHeadersOnce();
      serverCall.sendMessage(message);
      messages++;
      wantMore.set(true);
      if (serverCall.isReady() && wantMore.compareAndSet(true, false)) {
        call.request(1);
      }
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      if (status.isOk() && messages == 0 && method.getType().serverSendsOneMessage()) {
        status = Status.INTERNAL.withDescription("route '" + route.name() + "': upstream "
            + upstreamName + " answered without a completion");
      } else if (status.isOk()) {
        sendHeadersOnce();
      } else {
        status = UpstreamStatus.toClientStatus(status, route.name(), upstreamName, messages, extraMessage);
      }
      serverCall.close(status, new Metadata());
    }

    private void sendHeadersOnce() {
      if (!headersSent) {
        headersSent = true;
        Metadata headers = new Metadata();
        if (upstreamName != null) {
          headers.put(UPSTREAM_HEADER, upstreamName);
        }
        serverCall.sendHeaders(headers);
      }
    }
  }
}
