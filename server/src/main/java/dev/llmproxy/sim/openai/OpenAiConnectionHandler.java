package dev.llmproxy.sim.openai;

import dev.llmproxy.orca.LoadReportHeader;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.openai.OpenAiRequest.Endpoint;
import io.grpc.Metadata;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.annotation.Nullable;

/**
 * One HTTP/1.1 connection of the OpenAI-compatible simulated backend: routes each request, serves
 * requests one at a time (pipelined ones wait their turn), and tells the running call when the
 * connection becomes writable again or closes. A closed connection cancels its call at once, as a
 * real engine frees the GPU slot of a client that went away.
 */
final class OpenAiConnectionHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Map<String, HttpMethod> METHODS = Map.of(
      "/health", HttpMethod.GET,
      "/metrics", HttpMethod.GET,
      "/v1/models", HttpMethod.GET,
      Endpoint.CHAT.path, HttpMethod.POST,
      Endpoint.COMPLETIONS.path, HttpMethod.POST);

  private final BackendState state;
  private final ArrayDeque<FullHttpRequest> pipelined = new ArrayDeque<>();
  @Nullable private HttpExchange exchange;
  @Nullable private OpenAiCall call;

  OpenAiConnectionHandler(BackendState state) {
    this.state = state;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    if ((exchange != null && !exchange.done()) || !pipelined.isEmpty()) {
      pipelined.add(request.retain()); // answered in order, after the requests before it
      return;
    }
    serve(ctx, request);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (call != null && ctx.channel().isWritable()) {
      call.transportReady();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (call != null) {
      call.cancel();
      call = null;
    }
    pipelined.forEach(FullHttpRequest::release);
    pipelined.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // A reset connection or a write to a closed one: the client is gone, and channelInactive follows.
    ctx.close();
  }

  private void serveNext(ChannelHandlerContext ctx) {
    exchange = null;
    call = null;
    ctx.executor().execute(() -> {
      FullHttpRequest next = pipelined.poll();
      if (next != null && ctx.channel().isActive()) {
        try {
          serve(ctx, next);
        } finally {
          next.release();
        }
      }
    });
  }

  private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request) && request.decoderResult().isSuccess();
    LoadReportHeader.Format loadFormat =
        LoadReportHeader.requested(request.headers().get(LoadReportHeader.FORMAT_HEADER));
    HttpExchange current = new HttpExchange(ctx, keepAlive, state.name(),
        loadFormat == null || !state.perCallLoadReports() ? null : () -> state.loadHeader.format(state.load.report(), loadFormat), () -> serveNext(ctx));
    exchange = current;
    ErrorResponses errors = new ErrorResponses(current, new OpenAiEncoder(state.json, ctx.alloc()));
    if (!request.decoderResult().isSuccess()) {
      errors.send(400, "The request is not valid HTTP/1.1", null, null);
      return;
    }
    String path = new QueryStringDecoder(request.uri()).path();
    HttpMethod expected = METHODS.get(path);
    if (expected == null) {
      errors.send(404, "Unknown request URL: " + request.method() + " " + path, null, "unknown_url");
      return;
    }
    if (!request.method().equals(expected)
        && !(expected == HttpMethod.GET && request.method().equals(HttpMethod.HEAD))) {
      errors.send(405, "Method " + request.method() + " not allowed for " + path + " (expected: "
          + expected + ")", null, "method_not_allowed", HttpHeaderNames.ALLOW.toString(), expected.name());
      return;
    }
    switch (path) {
      case "/health" -> current.respondEmpty(state.serving() && !state.loading()
          ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE);
      case "/metrics" -> current.respond(HttpResponseStatus.OK, VllmMetrics.CONTENT_TYPE,
          Unpooled.copiedBuffer(state.metrics.render(state.primaryModel(), state.admission.running(),
              state.admission.queued(), state.kvCache, state.config.get().engine().kvCacheBlocks()),
              StandardCharsets.UTF_8));
      case "/v1/models" -> {
        if (authorized(request, errors) && available(errors)) {
          OpenAiSimSettings settings = state.settings();
          List<String> models = settings.servedModels().isEmpty()
              ? List.of(state.name()) : settings.servedModels();
          current.respond(HttpResponseStatus.OK, OpenAiCall.JSON,
              new OpenAiEncoder(state.json, ctx.alloc()).modelsBody(models, state.startedEpochSeconds));
        }
      }
      default -> complete(ctx, request, path.equals(Endpoint.CHAT.path) ? Endpoint.CHAT
          : Endpoint.COMPLETIONS, current, errors);
    }
  }

  private void complete(ChannelHandlerContext ctx, FullHttpRequest http, Endpoint endpoint,
      HttpExchange current, ErrorResponses errors) {
    if (!authorized(http, errors) || !available(errors)) {
      return;
    }
    OpenAiRequest parsed;
    try {
      parsed = state.parser.parse(endpoint, new ByteBufInputStream(http.content().duplicate()));
    } catch (InvalidRequestException e) {
      errors.send(400, e.getMessage(), e.param(), 400);
      return;
    }
    OpenAiSimSettings settings = state.settings();
    String model = parsed.request().getModel();
    if (model.isEmpty() && !settings.servedModels().isEmpty()) {
      parsed = new OpenAiRequest(endpoint, parsed.request().toBuilder()
          .setModel(settings.servedModels().get(0)).build(), parsed.stream(), parsed.includeUsage());
    } else if (!settings.serves(model)) {
      errors.send(404, "The model `" + model + "` does not exist.", "model", 404);
      return;
    }
    SimulatedBackendConfig config = state.config.get();
    RecordedCall record = new RecordedCall(endpoint.path,
        endpoint.idPrefix + config.name() + "-" + state.nextId(), parsed.request(),
        metadataOf(http), null, System.nanoTime());
    OpenAiEncoder encoder = new OpenAiEncoder(state.json, ctx.alloc());
    OpenAiCall started = parsed.stream()
        ? new OpenAiStreamingCall(config, settings, ctx.channel().eventLoop(), state, record, parsed,
            encoder, current)
        : new OpenAiUnaryCall(config, settings, ctx.channel().eventLoop(), state, record, parsed,
            encoder, current);
    call = started;
    started.start();
  }

  private boolean authorized(FullHttpRequest request, ErrorResponses errors) {
    var key = state.settings().apiKey();
    if (key.isEmpty()) {
      return true;
    }
    String auth = request.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null && auth.equals("Bearer " + key.get())) {
      return true;
    }
    errors.send(401, auth == null
        ? "You didn't provide an API key. Send it as Authorization: Bearer <key>."
        : "Incorrect API key provided.", null, "invalid_api_key");
    return false;
  }

  private boolean available(ErrorResponses errors) {
    if (!state.loading()) {
      return true;
    }
    int retryAfter = state.config.get().faults().retryAfterSeconds();
    if (retryAfter >= 0) {
      errors.send(503, "The model is loading.", null, 503,
          HttpHeaderNames.RETRY_AFTER.toString(), Integer.toString(retryAfter));
    } else {
      errors.send(503, "The model is loading.", null, 503);
    }
    return false;
  }

  /** The request's headers as gRPC metadata, for the recorder; headers that do not fit are left out. */
  private static Metadata metadataOf(FullHttpRequest request) {
    Metadata metadata = new Metadata();
    for (Map.Entry<String, String> header : request.headers()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        continue;
      }
      try {
        metadata.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), header.getValue());
      } catch (IllegalArgumentException e) {
        // Not a valid metadata name.
      }
    }
    return metadata;
  }

  /** Answers with an OpenAI error body. */
  private record ErrorResponses(HttpExchange exchange, OpenAiEncoder encoder) {
    void send(int status, String message, @Nullable String param, @Nullable Object code,
        String... headers) {
      exchange.respond(HttpResponseStatus.valueOf(status), OpenAiCall.JSON,
          encoder.errorBody(message, HttpErrorMapping.errorType(status), param, code), headers);
    }
  }
}
