package dev.llmproxy.server.observability;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every call an {@code x-request-id}: the client's own when it sent a usable one (up to 128
 * visible ASCII characters), otherwise 32 random hex digits. The id is put into the request
 * headers, so the access log, the traces and the upstream call (it is in the default
 * {@code server.forward_headers}) all see the same one, and sent back in the response headers (or
 * the trailers of an answer without headers), so a client can quote it when it reports a problem.
 *
 * <p>Not a secret and not a credential, so the random source need not be cryptographic.
 */
public final class RequestIdServerInterceptor implements ServerInterceptor {
  public static final Metadata.Key<String> REQUEST_ID = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
  private static final int MAX_LENGTH = 128;

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    String id = headers.get(REQUEST_ID);
    if (!usable(id) || count(headers.getAll(REQUEST_ID)) > 1) { // two ids: which would the client quote?
      headers.removeAll(REQUEST_ID);
      id = generate();
      headers.put(REQUEST_ID, id);
    }
    return next.startCall(new IdReturningCall<>(call, id), headers);
  }

  static boolean usable(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }

  private static int count(Iterable<String> values) {
    int n = 0;
    for (String ignored : values) {
      n++;
    }
    return n;
  }

  static String generate() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return hex(random.nextLong()) + hex(random.nextLong());
  }

  private static String hex(long value) {
    String digits = Long.toHexString(value);
    return "0".repeat(16 - digits.length()) + digits;
  }

  private static final class IdReturningCall<ReqT, RespT> extends SimpleForwardingServerCall<ReqT, RespT> {
    private final String id;
    private boolean headersSent; // sendHeaders and close are serialized by grpc's contract

    IdReturningCall(ServerCall<ReqT, RespT> delegate, String id) {
      super(delegate);
      this.id = id;
    }

    @Override
    public void sendHeaders(Metadata headers) {
      headersSent = true;
      headers.removeAll(REQUEST_ID);
      headers.put(REQUEST_ID, id);
      super.sendHeaders(headers);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      if (!headersSent) {
        trailers.removeAll(REQUEST_ID);
        trailers.put(REQUEST_ID, id); // a trailers-only answer: its trailers are its headers
      }
      super.close(status, trailers);
    }
  }
}
