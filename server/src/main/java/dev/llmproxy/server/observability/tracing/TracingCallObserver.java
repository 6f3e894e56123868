package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.server.observability.CallObserver;
import dev.llmproxy.server.observability.CallStats;
import io.grpc.Metadata;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server span of each call. It starts as the call arrives, as a child of the client's
 * {@code traceparent} when there is one, and replaces that header in the request with its own, so
 * the upstream attempts (whose headers are forwarded from the request) become its children. It
 * ends when the call closes, with what {@link CallStats} learned: GenAI attributes (operation,
 * models, token usage, finish reason, time to first chunk) and llmproxy's own (route, upstream,
 * cache result, key id, request id). Never a prompt, a completion, a header or a key.
 *
 * <p>Per streamed token this costs nothing: it has no {@code onMessage}.
 */
public final class TracingCallObserver implements CallObserver {
  private static final String SERVICE = "llmproxy.v1.LlmProxy";

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  TracingCallObserver(Tracer tracer, TextMapPropagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
  }

  @Override
  public void onStart(CallStats call, Metadata headers) {
    Context parent = propagator.extract(Context.root(), headers, MetadataTextMap.INSTANCE);
    Span span = tracer.spanBuilder(SERVICE + "/" + call.method())
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(SpanAttributes.RPC_SYSTEM, "grpc")
        .setAttribute(SpanAttributes.RPC_SERVICE, SERVICE)
        .setAttribute(SpanAttributes.RPC_METHOD, call.method())
        .setStartTimestamp(System.currentTimeMillis(), TimeUnit.MILLISECONDS)
        .startSpan();
    call.span(span);
    MetadataTextMap.clear(headers, List.copyOf(propagator.fields()));
    propagator.inject(parent.with(span), headers, MetadataTextMap.INSTANCE);
  }

  @Override
  public void onClose(CallStats call) {
    Span span = call.span();
    if (span.isRecording()) {
      span.setAttribute(SpanAttributes.REQUEST_ID, call.requestId());
      span.setAttribute(SpanAttributes.ROUTE, call.route());
      span.setAttribute(SpanAttributes.UPSTREAM, call.upstream());
      span.setAttribute(SpanAttributes.CACHE_RESULT, call.cache());
      span.setAttribute(SpanAttributes.KEY_ID, call.keyId());
      if (call.requestModel() != null) {
        span.setAttribute(SpanAttributes.GEN_AI_OPERATION, call.operation());
        span.setAttribute(SpanAttributes.GEN_AI_REQUEST_MODEL, SpanAttributes.bounded(call.requestModel()));
      }
      SpanAttributes.answer(span, call.responseModel(), call.promptTokens(), call.completionTokens(),
          call.finishReason());
      long ttft = call.timeToFirstMessageNanos();
      if (call.streaming() && ttft >= 0) {
        span.setAttribute(SpanAttributes.TIME_TO_FIRST_CHUNK, ttft / 1e9);
      }
      span.setAttribute(SpanAttributes.RPC_GRPC_STATUS, (long) call.status().value());
      if (SpanAttributes.isServerError(call.status())) {
        span.setStatus(StatusCode.ERROR, call.status().name());
      }
    }
    span.end();
  }
}
