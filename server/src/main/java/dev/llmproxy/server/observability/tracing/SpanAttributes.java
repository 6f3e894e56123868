package dev.llmproxy.server.observability.tracing;

import io.grpc.Status;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import java.util.List;

/**
 * The span attributes llmproxy sets: OpenTelemetry's RPC and GenAI semantic conventions, and its
 * own under {@code llmproxy.*}. Every value is a name from the config, a closed set, a count or a
 * time, or the model name a client asked for (cut to 128 characters).
 */
final class SpanAttributes {
  static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  static final AttributeKey<Long> RPC_GRPC_STATUS = AttributeKey.longKey("rpc.grpc.status_code");
  static final AttributeKey<String> GEN_AI_OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  static final AttributeKey<String> GEN_AI_REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> GEN_AI_RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
  static final AttributeKey<Long> GEN_AI_INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> GEN_AI_OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<List<String>> GEN_AI_FINISH_REASONS =
      AttributeKey.stringArrayKey("gen_ai.response.finish_reasons");
  static final AttributeKey<Double> TIME_TO_FIRST_CHUNK = AttributeKey.doubleKey("gen_ai.response.time_to_first_chunk");
  static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("llmproxy.request_id");
  static final AttributeKey<String> ROUTE = AttributeKey.stringKey("llmproxy.route");
  static final AttributeKey<String> UPSTREAM = AttributeKey.stringKey("llmproxy.upstream");
  static final AttributeKey<String> CACHE_RESULT = AttributeKey.stringKey("llmproxy.cache.result");
  static final AttributeKey<String> KEY_ID = AttributeKey.stringKey("llmproxy.key_id");

  private SpanAttributes() {}

  /** What an answer told: its model, token usage (-1: none) and finish reason (null: none). */
  static void answer(Span span, String responseModel, long promptTokens, long completionTokens, String finishReason) {
    if (responseModel != null) {
      span.setAttribute(GEN_AI_RESPONSE_MODEL, bounded(responseModel));
    }
    if (promptTokens >= 0) {
      span.setAttribute(GEN_AI_INPUT_TOKENS, promptTokens);
    }
    if (completionTokens >= 0) {
      span.setAttribute(GEN_AI_OUTPUT_TOKENS, completionTokens);
    }
    if (finishReason != null) {
      span.setAttribute(GEN_AI_FINISH_REASONS, List.of(finishReason));
    }
  }

  static String bounded(String value) {
    return value.length() > 128 ? value.substring(0, 128) : value;
  }

  /**
   * Whether a status is the server's fault, which OpenTelemetry's RPC conventions mark as a span
   * error; answers about the request (INVALID_ARGUMENT, NOT_FOUND, quota) and a client's cancel are not.
   */
  static boolean isServerError(Status.Code code) {
    return switch (code) {
      case UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS -> true;
      default -> false;
    };
  }
}
