package dev.llmproxy.server.service;

import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Status;

/**
 * Checks a request against the API contract and its route's limits. Pure: the verdict is a
 * {@link Status} naming the field, the bad value and what was expected; OK means valid.
 */
public final class RequestValidator {
  static final int MAX_STOP_SEQUENCES = 16;
  private final MessageValidator messages = new MessageValidator();
  private final ToolValidator tools = new ToolValidator();

  public Status check(CompletionRequest request, RouteConfig route) {
    boolean hasPrompt = !request.getPrompt().isEmpty();
    boolean hasMessages = request.getMessagesCount() > 0;
    if (hasPrompt == hasMessages) {
      return invalid("prompt/messages: " + (hasPrompt ? "both set" : "neither set")
          + " (expected: exactly one of prompt or messages)");
    }
    for (int i = 0; i < request.getMessagesCount(); i++) {
      String problem = messages.check(i, request.getMessages(i));
      if (problem != null) {
        return invalid(problem);
      }
    }
    int maxTokens = request.getMaxTokens();
    if (maxTokens < 0 || maxTokens > route.maxTokensLimit()) {
      return invalid("max_tokens: " + maxTokens + " (expected: 0 for the route default, up to "
          + route.maxTokensLimit() + " on route '" + route.name() + "')");
    }
    if (request.hasTemperature() && !inRange(request.getTemperature(), 2)) {
      return invalid("temperature: " + request.getTemperature() + " (expected: 0 to 2)");
    }
    if (request.hasTopP() && !inRange(request.getTopP(), 1)) {
      return invalid("top_p: " + request.getTopP() + " (expected: 0 to 1)");
    }
    if (request.getStopCount() > MAX_STOP_SEQUENCES) {
      return invalid("stop: " + request.getStopCount() + " sequences (expected: at most "
          + MAX_STOP_SEQUENCES + ")");
    }
    for (int i = 0; i < request.getStopCount(); i++) {
      if (request.getStop(i).isEmpty()) {
        return invalid("stop[" + i + "]: empty (expected: a non-empty string)");
      }
    }
    String problem = tools.check(request);
    return problem != null ? invalid(problem) : Status.OK;
  }

  /** The request as sent upstream: {@code max_tokens} 0 becomes the route's default. */
  public CompletionRequest withDefaults(CompletionRequest request, RouteConfig route) {
    if (request.getMaxTokens() != 0) {
      return request;
    }
    return request.toBuilder().setMaxTokens(route.defaultMaxTokens()).build();
  }

  private static boolean inRange(float value, float max) {
    return value >= 0 && value <= max; // false for NaN
  }

  private static Status invalid(String description) {
    return Status.INVALID_ARGUMENT.withDescription(description);
  }
}
