package dev.llmproxy.server.observability;

import dev.llmproxy.server.config.RouteConfig;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/**
 * What is known about one call, filled in as it passes through the proxy and read by the
 * {@link CallObserver}s. Mutable and per call; written from the call's serialized
 * {@code sendHeaders}/{@code sendMessage}/{@code close} path, except {@link #route} and
 * {@link #keyId}, which may also be learned from {@code request} on another thread.
 */
public final class CallStats {
  /** The label for a route, upstream, key or cache status that the call never had. */
  public static final String NONE = "none";

  private final String method;
  private final boolean streaming;
  private final long startNanos;
  volatile String route;
  volatile List<String> routeModels;
  volatile String keyId;
  volatile String requestModel;
  volatile boolean chat;
  String requestId;
  SocketAddress clientAddress;
  String upstream;
  String cache;
  String responseModel;
  String finishReason;
  long firstMessageNanos;
  int messages;
  int promptTokens = -1;
  int completionTokens = -1;
  Status.Code status;
  long endNanos;
  private Span span = Span.getInvalid();

  CallStats(String method, boolean streaming, long startNanos) {
    this.method = method;
    this.streaming = streaming;
    this.startNanos = startNanos;
  }

  /** The call's server span: invalid (a no-op) unless tracing is on. */
  public Span span() {
    return span;
  }

  /** Set by the tracer when the call starts, before anything else reads it. */
  public void span(Span serverSpan) {
    this.span = serverSpan;
  }

  /** The RPC's short name: {@code Complete} or {@code StreamComplete}. */
  public String method() {
    return method;
  }

  /** Whether the RPC streams its answer ({@code StreamComplete}). */
  public boolean streaming() {
    return streaming;
  }

  /** The route the call was resolved to, or {@link #NONE} (rejected before routing). */
  public String route() {
    String r = route;
    return r != null ? r : NONE;
  }

  /** The upstream that answered (from {@code llmproxy-upstream}), or {@link #NONE}. */
  public String upstream() {
    return upstream != null ? upstream : NONE;
  }

  /** The caller's configured key id, or {@link #NONE} for an anonymous or rejected caller. */
  public String keyId() {
    String k = keyId;
    return k != null ? k : NONE;
  }

  /** The {@code llmproxy-cache} status sent to the client, or {@link #NONE} without a cache. */
  public String cache() {
    return cache != null ? cache : NONE;
  }

  /** The {@code x-request-id} of the call (the client's, or generated), or {@link #NONE}. */
  public String requestId() {
    return requestId != null ? requestId : NONE;
  }

  /** The client's address as {@code host:port}, or {@link #NONE}. */
  public String clientAddress() {
    if (clientAddress instanceof InetSocketAddress inet) {
      return inet.getHostString() + ":" + inet.getPort();
    }
    return clientAddress != null ? clientAddress.toString() : NONE;
  }

  /** The model the request asked for, as sent (may be empty: the default route); null before it arrived. */
  public String requestModel() {
    return requestModel;
  }

  /**
   * The model as a metric label, from a bounded set: the requested model when its route names it,
   * {@code default} for an empty model, {@code other} for a model only a {@code "*"} route serves,
   * {@link #NONE} before routing. A client cannot create series by inventing model names.
   */
  public String modelLabel() {
    String model = requestModel;
    List<String> models = routeModels;
    if (model == null || models == null) {
      return NONE;
    }
    if (model.isEmpty()) {
      return "default";
    }
    return models.contains(model) && !RouteConfig.ANY_MODEL.equals(model) ? model : "other";
  }

  /** The GenAI operation: {@code chat} for messages, {@code text_completion} for a prompt. */
  public String operation() {
    return chat ? "chat" : "text_completion";
  }

  /** The model the answer names ({@code Completion.model}), or null. */
  public String responseModel() {
    return responseModel;
  }

  /** The answer's finish reason in lower case ({@code stop}, {@code length}, ...), or null. */
  public String finishReason() {
    return finishReason;
  }

  /** The answer's {@code usage.prompt_tokens}, or -1 without usage. */
  public int promptTokens() {
    return promptTokens;
  }

  /** The answer's {@code usage.completion_tokens}, or -1 without usage. */
  public int completionTokens() {
    return completionTokens;
  }

  /** Whether the answer came from an upstream for this call (not a cache hit or a joined call). */
  public boolean servedByUpstream() {
    return !"hit".equals(cache) && !"coalesced".equals(cache);
  }

  /** Response messages sent: the chunks of a stream, 1 for a completed {@code Complete}. */
  public int messages() {
    return messages;
  }

  /**
   * Tokens generated: the answer's {@code usage.completion_tokens} when it carried usage,
   * otherwise the chunks of a stream.
   */
  public int tokens() {
    if (completionTokens >= 0) {
      return completionTokens;
    }
    return streaming ? messages : 0;
  }

  /** The status the call was closed with; null while it is open. */
  public Status.Code status() {
    return status;
  }

  public long startNanos() {
    return startNanos;
  }

  /** Nanoseconds from the start of the call to its first response message; -1 if none was sent. */
  public long timeToFirstMessageNanos() {
    return messages > 0 ? firstMessageNanos - startNanos : -1;
  }

  /**
   * Mean nanoseconds between output tokens after the first (from the first message to the close),
   * or -1 when there is nothing to average: fewer than two tokens, or no message.
   */
  public long timePerOutputTokenNanos() {
    int tokens = tokens();
    if (messages == 0 || tokens < 2) {
      return -1;
    }
    return (endNanos - firstMessageNanos) / (tokens - 1);
  }

  /** Nanoseconds from the start of the call to its close. */
  public long durationNanos() {
    return endNanos - startNanos;
  }
}
