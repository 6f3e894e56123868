package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.server.completion.AnswerEnd;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.List;

/**
 * A client span for each upstream attempt, so a failover shows as two attempts under one server
 * span. The parent is the {@code traceparent} in the attempt's headers, which the proxy forwards
 * from the request after the server span put its own there; the attempt's own context then
 * replaces it, so the upstream (a gRPC engine, or over HTTP an OpenAI-compatible one) continues the
 * trace. The upstream is named from the stream's remote address, like {@code llmproxy-upstream}.
 *
 * <p>Per streamed token: a counter increment and a check for usage on the message; the clock is
 * read for the first chunk only.
 */
final class TracingClientInterceptor implements ClientInterceptor {
  private final Tracer tracer;
  private final TextMapPropagator propagator;
  private final List<String> fields;

  TracingClientInterceptor(Tracer tracer, TextMapPropagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
    this.fields = List.copyOf(propagator.fields());
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
      CallOptions callOptions, Channel next) {
    Route route = callOptions.getOption(Route.CALL_OPTION);
    if (route == null) {
      return next.newCall(method, callOptions); // not a relayed call (health checks)
    }
    AttemptSpan attempt = new AttemptSpan(route);
    return new TracedCall<>(next.newCall(method, callOptions.withStreamTracerFactory(attempt)), method, attempt);
  }

  /** One attempt's span, created when the call starts; also names the upstream its stream went to. */
  private static final class AttemptSpan extends ClientStreamTracer.Factory {
    private final Route route;
    volatile Span span = Span.getInvalid();

    AttemptSpan(Route route) {
      this.route = route;
    }

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
      return new ClientStreamTracer() {
        @Override
        public void streamCreated(Attributes transportAttrs, Metadata headers) {
          Span s = span;
          if (s.isRecording()) {
            s.setAttribute(SpanAttributes.UPSTREAM,
                route.upstreamName(transportAttrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
          }
        }
      };
    }
  }

  private final class TracedCall<ReqT, RespT> extends SimpleForwardingClientCall<ReqT, RespT> {
    private final MethodDescriptor<ReqT, RespT> method;
    private final AttemptSpan attempt;

    TracedCall(ClientCall<ReqT, RespT> delegate, MethodDescriptor<ReqT, RespT> method, AttemptSpan attempt) {
      super(delegate);
      this.method = method;
      this.attempt = attempt;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      Context parent = propagator.extract(Context.root(), headers, MetadataTextMap.INSTANCE);
      Span span = tracer.spanBuilder("upstream " + method.getBareMethodName())
          .setParent(parent)
          .setSpanKind(SpanKind.CLIENT)
          .setAttribute(SpanAttributes.RPC_SYSTEM, "grpc")
          .setAttribute(SpanAttributes.RPC_SERVICE, method.getServiceName())
          .setAttribute(SpanAttributes.RPC_METHOD, method.getBareMethodName())
          .setAttribute(SpanAttributes.ROUTE, attempt.route.name())
          .startSpan();
      attempt.span = span;
      MetadataTextMap.clear(headers, fields);
      propagator.inject(parent.with(span), headers, MetadataTextMap.INSTANCE);
      // A sampled-out span records nothing: its listener would only cost a hop per message.
      super.start(span.isRecording() ? new TracedListener<>(responseListener, span) : responseListener, headers);
    }

    @Override
    public void sendMessage(ReqT message) {
      Span span = attempt.span;
      if (span.isRecording() && message instanceof CompletionRequest request) {
        String operation = request.getMessagesCount() > 0 ? "chat" : "text_completion";
        String model = SpanAttributes.bounded(request.getModel());
        span.setAttribute(SpanAttributes.GEN_AI_OPERATION, operation);
        span.setAttribute(SpanAttributes.GEN_AI_REQUEST_MODEL, model);
        span.updateName(model.isEmpty() ? operation : operation + " " + model); // GenAI span name
      }
      super.sendMessage(message);
    }

    @Override
    public void cancel(String message, Throwable cause) {
      attempt.span.addEvent("cancelled by the proxy");
      super.cancel(message, cause);
    }
  }

  private static final class TracedListener<RespT> extends SimpleForwardingClientCallListener<RespT> {
    private final Span span;
    private final long startNanos = System.nanoTime();
    private int messages;
    private long promptTokens = -1;
    private long completionTokens = -1;
    private String finishReason;
    private String responseModel;

    TracedListener(ClientCall.Listener<RespT> delegate, Span span) {
      super(delegate);
      this.span = span;
    }

    @Override
    public void onMessage(RespT message) {
      if (messages++ == 0 && span.isRecording()) {
        span.setAttribute(SpanAttributes.TIME_TO_FIRST_CHUNK, (System.nanoTime() - startNanos) / 1e9);
      }
      AnswerEnd end = AnswerEnd.of(message); // null for every chunk but the last
      if (end != null) {
        if (end.usage() != null) {
          promptTokens = end.usage().getPromptTokens();
          completionTokens = end.usage().getCompletionTokens();
        }
        if (end.finishReason() != null) {
          finishReason = end.finishReason();
        }
        if (end.model() != null) {
          responseModel = end.model();
        }
      }
      super.onMessage(message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      if (span.isRecording()) {
        SpanAttributes.answer(span, responseModel, promptTokens, completionTokens, finishReason);
        span.setAttribute(SpanAttributes.RPC_GRPC_STATUS, (long) status.getCode().value());
        if (!status.isOk()) {
          // Every failed attempt is an error here, busy or cancelled ones included: it is what
          // made the proxy fail over, or what the client saw.
          span.setStatus(StatusCode.ERROR, status.getCode().name());
        }
      }
      span.end();
      super.onClose(status, trailers);
    }
  }
}
