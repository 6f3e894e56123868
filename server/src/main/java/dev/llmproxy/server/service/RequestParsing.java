package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.UpstreamFault;
import com.google.protobuf.Message;
import dev.llmproxy.server.observability.ThrottledLog;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Parses the proxy's request messages inside the interceptor chain instead of in grpc's transport
 * layer, so that a request that is not one gets an answer the client can act on.
 *
 * <p>grpc-java parses a request before any listener sees it; when the bytes are not the message
 * (bad protobuf, invalid UTF-8 in a string field) it closes the call {@code UNKNOWN "Application
 * error processing RPC"}, logs a stack trace per call, and no interceptor learns of it, so the call
 * is in neither metrics nor access log. Rebound here (as grpc's own {@code
 * ServerInterceptors.useMarshalledMessages} does, but for requests only: responses keep their
 * marshaller and are never copied), the service takes its requests as the bytes' stream; the
 * interceptors applied outside ({@link #bind}'s result: drain, metrics, access log) see every call
 * and how it ended, and those inside see parsed messages as before.
 *
 * <p>A method whose client sends one message (all of the proxy's) has its message held until the
 * half-close, as grpc's own unary handler does, so a second message is refused before anything
 * inside has seen the first: {@code INVALID_ARGUMENT}, rather than a reset stream.
 */
public final class RequestParsing {
  private static final MethodDescriptor.Marshaller<InputStream> AS_IS = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return stream;
    }
  };

  private final ThrottledLog log;

  /** @param log where refused requests are reported, at most once per its interval */
  public RequestParsing(ThrottledLog log) {
    this.log = Objects.requireNonNull(log, "log");
  }

  /**
   * {@code typed} taking its requests as streams that are parsed here; keeps the service's schema
   * descriptor and method names, so server reflection still describes it.
   */
  public ServerServiceDefinition bind(ServerServiceDefinition typed) {
    ServiceDescriptor original = typed.getServiceDescriptor();
    List<ServerMethodDefinition<InputStream, ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> method : typed.getMethods()) {
      ServerMethodDefinition<InputStream, ?> raw = parsing(method);
      methods.add(raw);
      descriptor.addMethod(raw.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder service = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(service::addMethod);
    return service.build();
  }

  private <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> parsing(ServerMethodDefinition<ReqT, RespT> typed) {
    MethodDescriptor<ReqT, RespT> method = typed.getMethodDescriptor();
    // Typed as a client-streaming method: grpc would otherwise reset the stream of a unary call
    // whose client sends a second message before any listener sees it; refused here instead.
    MethodDescriptor<InputStream, RespT> raw = method.toBuilder(AS_IS, method.getResponseMarshaller())
        .setType(method.getType().serverSendsOneMessage() ? MethodDescriptor.MethodType.CLIENT_STREAMING
            : MethodDescriptor.MethodType.BIDI_STREAMING)
        .build();
    String messageName = messageName(method);
    ServerCallHandler<InputStream, RespT> handler = (call, headers) -> {
      TypedCall<ReqT, RespT> typedCall = new TypedCall<>(call, method);
      ServerCall.Listener<ReqT> inner = typed.getServerCallHandler().startCall(typedCall, headers);
      return new ParsingListener<>(inner, typedCall, method, messageName);
    };
    return ServerMethodDefinition.create(raw, handler);
  }

  private final class ParsingListener<ReqT, RespT> extends ServerCall.Listener<InputStream> {
    private final ServerCall.Listener<ReqT> inner;
    private final TypedCall<ReqT, RespT> call;
    private final MethodDescriptor<ReqT, RespT> method;
    private final boolean oneMessage;
    private final String messageName;
    // Listener events come one at a time, from grpc's serializing executor.
    private ReqT held;
    private int messages;

    ParsingListener(ServerCall.Listener<ReqT> inner, TypedCall<ReqT, RespT> call, MethodDescriptor<ReqT, RespT> method,
        String messageName) {
      this.inner = inner;
      this.messageName = messageName;
      this.call = call;
      this.method = method;
      this.oneMessage = method.getType().clientSendsOneMessage();
    }

    @Override
    public void onMessage(InputStream bytes) {
      if (call.closed) {
        return; // refused here, or answered inside already (authentication at the headers)
      }
      messages++;
      if (oneMessage && messages > 1) {
        refuse("request: a second request message (expected: exactly one for " + method.getBareMethodName() + ")");
        return;
      }
      ReqT message;
      try {
        message = method.parseRequest(bytes);
      } catch (RuntimeException e) {
        refuse("request: not a valid " + messageName + " (" + reason(e) + ")");
        return;
      }
      if (oneMessage) {
        held = message;
        call.request(1); // for the half-close, or a second message to refuse
      } else {
        inner.onMessage(message);
      }
    }

    @Override
    public void onHalfClose() {
      if (call.closed) {
        return;
      }
      if (held != null) {
        ReqT message = held;
        held = null;
        inner.onMessage(message);
      }
      inner.onHalfClose();
    }

    @Override
    public void onCancel() {
      held = null;
      inner.onCancel();
    }

    @Override
    public void onComplete() {
      inner.onComplete();
    }

    @Override
    public void onReady() {
      if (!call.closed) {
        inner.onReady();
      }
    }

    private void refuse(String why) {
      held = null;
      Status status = Status.INVALID_ARGUMENT.withDescription(why);
      log.warn("refused a " + method.getBareMethodName() + " call: " + why
          + " (requests that are not valid messages are logged at most once per interval)");
      call.close(status, new Metadata());
    }
  }

  /** The request message's protobuf name, as a client's error message should say it. */
  private static String messageName(MethodDescriptor<?, ?> method) {
    if (method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> marshaller
        && marshaller.getMessagePrototype() instanceof Message prototype) {
      return prototype.getDescriptorForType().getFullName();
    }
    return "request message";
  }

  /** The parser's own words for what is wrong, on one line and without a stack trace. */
  private static String reason(RuntimeException e) {
    String message = e instanceof StatusRuntimeException sre
        ? (sre.getStatus().getCause() != null ? sre.getStatus().getCause().getMessage() : sre.getStatus().getDescription())
        : e.getMessage();
    return message == null ? e.getClass().getSimpleName() : UpstreamFault.abbreviate(message);
  }

  /**
   * The call as the interceptors inside see it: typed, and closed at most once, whether by them or
   * by {@link ParsingListener#refuse} (which happens only before anything inside has a message, so
   * nothing inside is sending at that time).
   */
  private static final class TypedCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
    private final ServerCall<InputStream, RespT> raw;
    private final MethodDescriptor<ReqT, RespT> method;
    volatile boolean closed;

    TypedCall(ServerCall<InputStream, RespT> raw, MethodDescriptor<ReqT, RespT> method) {
      this.raw = raw;
      this.method = method;
    }

    @Override
    public void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        raw.close(status, trailers);
      }
    }

    @Override
    public void request(int numMessages) {
      raw.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      raw.sendHeaders(headers);
    }

    @Override
    public void sendMessage(RespT message) {
      raw.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return raw.isReady();
    }

    @Override
    public boolean isCancelled() {
      return raw.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      raw.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      raw.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      raw.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return raw.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return raw.getAttributes();
    }

    @Override
    public String getAuthority() {
      return raw.getAuthority();
    }

    @Override
    public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
      return method;
    }
  }
}
