package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.orca.LoadReportHeader;
import dev.llmproxy.orca.LoadReportProto;
import dev.llmproxy.server.completion.CompletionAssembler;
import dev.llmproxy.server.quota.TokenEstimator;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Usage;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * One call to an OpenAI-compatible upstream, translated: the gRPC request becomes a streaming HTTP
 * request, each delta of the SSE answer (content, reasoning, tool-call pieces, logprobs) one {@link
 * CompletionChunk} ({@code StreamComplete}) or part of one {@link Completion} ({@code Complete}, put
 * together by a {@link CompletionAssembler} exactly as the cache does), and the end of the answer
 * the call's status.
 *
 * <p>Flow control: the HTTP body is read one delivery at a time, and the next is asked for only
 * once every chunk parsed from the last one has been sent, which for a stream happens only while the
 * gRPC call is ready. So a client that reads slowly holds the engine back through TCP, and the
 * proxy holds at most one delivery of parsed chunks per call.
 *
 * <p>The end: the chunk that carries {@code finish_reason} is held back until the usage chunk that
 * follows it (or {@code [DONE]}), so that the last {@code CompletionChunk} carries both, as the API
 * promises. Without usage from the engine, the proxy counts one token per content delta and
 * estimates the prompt, and says so in the {@code llmproxy-usage: estimated} trailer. A body that
 * ends before a {@code finish_reason}, an error event and a malformed event end the call with an
 * error status, never as a short stream that looks complete. After the last chunk the rest of the
 * body is read and dropped, so the connection goes back to the pool.
 *
 * <p>Threads: gRPC events (message, ready, cancel) and HTTP events (headers, body, end) arrive on
 * different threads; every step runs in this call's {@link SynchronizationContext}, one at a time,
 * without holding a lock while calling into gRPC or the HTTP client.
 */
final class OpenAiCall<RespT> extends ServerCall.Listener<CompletionRequest>
    implements HttpResponse.BodyHandler<Void>, HttpResponse.BodySubscriber<Void>, SseParser.Listener {
  static final Metadata.Key<String> USAGE_TRAILER = Metadata.Key.of("llmproxy-usage", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> PUSHBACK_TRAILER =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
  private static final int MAX_ERROR_BODY = 16 << 10;

  private final ServerCall<CompletionRequest, RespT> call;
  private final boolean unary;
  private final OpenAiEndpoint endpoint;
  private final SynchronizationContext sync;
  private final ArrayDeque<RespT> pending = new ArrayDeque<>();
  private final TokenEstimator estimator = new TokenEstimator();

  // Touched only inside sync (or before the exchange starts).
  private CompletionRequest request;
  private String promptSample = "";
  private CompletableFuture<HttpResponse<Void>> exchange;
  private Flow.Subscription subscription;
  private boolean holdsConnection;
  private boolean httpRequested;
  private boolean closed;
  private boolean aborted;
  private boolean finished; // the last chunk is queued
  private Status failure; // ends the call once the chunks parsed before it are sent
  private int httpStatus;
  private boolean eventStream;
  private long retryAfterMillis = -1;
  private byte[] loadReport; // endpoint-load-metrics, for the trailers
  private ByteArrayOutputStream body; // error answers and plain JSON answers
  private SseParser parser;
  private String id = "";
  private String model = "";
  private int index;
  private int deltas;
  private FinishReason finishReason;
  private CompletionChunk.Builder held; // the delta that came with finish_reason, and any after it
  private Usage usage;
  private CompletionAssembler assembled; // Complete only
  private final PropagatedHeaders propagated;

  OpenAiCall(ServerCall<CompletionRequest, RespT> call, OpenAiEndpoint endpoint, PropagatedHeaders propagated) {
    this.propagated = propagated;
    this.call = call;
    this.unary = call.getMethodDescriptor().getType().serverSendsOneMessage();
    this.endpoint = endpoint;
    this.sync = new SynchronizationContext((thread, e) -> internalError(e));
    if (unary) {
      assembled = new CompletionAssembler();
    }
  }

  // ---- gRPC events ----

  @Override
  public void onMessage(CompletionRequest message) {
    sync.execute(() -> start(message));
  }

  @Override
  public void onHalfClose() {
    sync.execute(() -> {
      if (request == null && !closed) {
        close(Status.INVALID_ARGUMENT.withDescription("request: missing (expected: one request message)"));
      }
    });
  }

  @Override
  public void onReady() {
    sync.execute(this::drain);
  }

  @Override
  public void onCancel() {
    sync.execute(() -> {
      closed = true;
      abort();
    });
  }

  private void start(CompletionRequest message) {
    request = message;
    promptSample = promptSample(message);
    if (!endpoint.tryOpenConnection()) {
      close(Status.RESOURCE_EXHAUSTED.withDescription("upstream " + endpoint.name() + " has "
          + endpoint.maxConnections() + " calls open (its http.max_connections)"));
      return;
    }
    holdsConnection = true;
    if (!unary) {
      call.sendHeaders(new Metadata());
    }
    exchange = endpoint.send(message, propagated, this);
    exchange.whenComplete((response, failure) -> {
      if (failure != null) {
        sync.execute(() -> failed(failure));
      }
    });
  }

  // ---- HTTP events (client threads) ----

  @Override
  public HttpResponse.BodySubscriber<Void> apply(HttpResponse.ResponseInfo info) {
    int status = info.statusCode();
    String type = info.headers().firstValue("content-type").orElse("").toLowerCase(Locale.ROOT);
    long retryAfter = retryAfterMillis(info.headers().firstValue("retry-after").orElse(null));
    byte[] load = endpoint.loadReportTrailer(info.headers().firstValue(LoadReportHeader.REPORT_HEADER).orElse(null));
    sync.execute(() -> {
      loadReport = load;
      httpStatus = status;
      eventStream = type.startsWith("text/event-stream");
      retryAfterMillis = retryAfter;
      if (status == 200 && eventStream) {
        parser = new SseParser(this, endpoint.maxEventBytes());
      } else {
        body = new ByteArrayOutputStream();
      }
    });
    return this;
  }

  @Override
  public CompletionStage<Void> getBody() {
    return CompletableFuture.completedStage(null);
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    sync.execute(() -> {
      subscription = s;
      if (aborted) {
        s.cancel();
        return;
      }
      requestBody();
    });
  }

  @Override
  public void onNext(List<ByteBuffer> buffers) {
    sync.execute(() -> {
      httpRequested = false;
      if (aborted) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        if (parser != null) {
          parser.feed(buffer);
          if (aborted) {
            return;
          }
        } else if (!collect(buffer)) {
          return;
        }
      }
      drain();
    });
  }

  @Override
  public void onError(Throwable failure) {
    sync.execute(() -> {
      releaseConnection();
      failed(failure);
    });
  }

  @Override
  public void onComplete() {
    sync.execute(() -> {
      releaseConnection();
      if (closed || aborted) {
        return;
      }
      if (parser == null) {
        answerFromBody();
      } else if (!finished) {
        if (finishReason == null) {
          fail(Status.UNAVAILABLE.withDescription("upstream " + endpoint.name()
              + " ended the stream without finishing the answer (after " + deltas + " pieces)"));
          return;
        }
        finish();
      }
      drain();
    });
  }

  // ---- SSE events (inside sync, from feed) ----

  @Override
  public void onEvent(String type, byte[] data, int length) {
    if (finished) {
      return; // [DONE] and whatever else follows the last chunk
    }
    if (isDone(data, length)) {
      if (finishReason == null) {
        finishReason = FinishReason.FINISH_REASON_STOP;
      }
      finish();
      return;
    }
    OpenAiEvent event;
    try {
      event = OpenAiEvent.parse(data, length);
    } catch (IOException e) {
      fail(Status.INTERNAL.withDescription("upstream " + endpoint.name() + " sent a malformed event after "
          + deltas + " pieces (" + e.getMessage() + ")"));
      return;
    }
    if (event.error() != null || type.equals("error")) {
      OpenAiEvent.OpenAiError error = event.error() != null ? event.error()
          : new OpenAiEvent.OpenAiError(new String(data, 0, length, StandardCharsets.UTF_8), null, null);
      fail(HttpStatusMapping.forStreamError(error, endpoint.name(), promptSample));
      return;
    }
    accept(event);
  }

  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

  private static boolean isDone(byte[] data, int length) {
    return length == DONE.length && java.util.Arrays.equals(data, 0, length, DONE, 0, length);
  }

  @Override
  public void onOversizedEvent() {
    fail(Status.INTERNAL.withDescription("upstream " + endpoint.name() + " sent an event over "
        + endpoint.maxEventBytes() + " bytes"));
  }

  private void accept(OpenAiEvent event) {
    if (event.id() != null && id.isEmpty()) {
      id = event.id();
    }
    if (event.model() != null && model.isEmpty()) {
      model = event.model();
    }
    if (event.usage() != null) {
      usage = event.usage();
    }
    if (event.hasDelta()) {
      deltas++;
    }
    if (finishReason != null) {
      if (event.hasDelta()) {
        // a delta after finish_reason: keep it, in order
        held.setText(held.getText() + event.text()).setReasoning(held.getReasoning() + event.reasoning())
            .addAllToolCalls(event.toolCalls()).addAllLogprobs(event.logprobs());
      }
    } else if (event.finishReason() != null) {
      finishReason = event.protoFinishReason();
      held = delta(event);
    } else if (event.hasDelta()) {
      emit(delta(event));
    }
    if (finishReason != null && usage != null) {
      finish();
    }
  }

  /** What a chunk carries of {@code event}: its text, reasoning, tool-call pieces and logprobs. */
  private static CompletionChunk.Builder delta(OpenAiEvent event) {
    return CompletionChunk.newBuilder().setText(event.text()).setReasoning(event.reasoning())
        .addAllToolCalls(event.toolCalls()).addAllLogprobs(event.logprobs());
  }

  private void emit(CompletionChunk.Builder chunk) {
    chunk.setId(id).setIndex(index++);
    if (unary) {
      assembled.add(chunk.build());
      return;
    }
    pending.add(cast(chunk.build()));
  }

  /** Queues the last chunk (or the whole completion) and reads the rest of the body. */
  private void finish() {
    finished = true;
    Usage final_ = usage;
    if (final_ == null) {
      int prompt = (int) Math.min(Integer.MAX_VALUE, estimator.promptTokens(request));
      final_ = Usage.newBuilder().setPromptTokens(prompt).setCompletionTokens(deltas)
          .setTotalTokens(prompt + deltas).build();
    }
    CompletionChunk.Builder last = held != null ? held : CompletionChunk.newBuilder();
    last.setFinishReason(finishReason).setUsage(final_);
    if (unary) {
      emit(last);
      pending.add(cast(assembled.build(model).toBuilder().setId(id).build()));
    } else {
      emit(last);
    }
    if (subscription != null) {
      subscription.request(Long.MAX_VALUE); // drain the body: the connection can be reused
    }
  }

  /** Sends what is queued while the call is ready; closes after the last chunk; asks for more body. */
  private void drain() {
    if (closed) {
      return;
    }
    while (!pending.isEmpty() && (unary || call.isReady())) {
      if (unary) {
        call.sendHeaders(new Metadata());
      }
      call.sendMessage(pending.poll());
    }
    if (!pending.isEmpty()) {
      return; // onReady drains the rest
    }
    if (failure != null) {
      close(failure, failureTrailers());
      return;
    }
    if (finished) {
      Metadata trailers = new Metadata();
      if (usage == null) {
        trailers.put(USAGE_TRAILER, "estimated");
      }
      close(Status.OK, trailers);
      return;
    }
    requestBody();
  }

  private void requestBody() {
    if (subscription != null && !httpRequested && !finished && !aborted) {
      httpRequested = true;
      subscription.request(1);
    }
  }

  /** Keeps an error or plain-JSON body, up to its limit; false (and the call failed) past it. */
  private boolean collect(ByteBuffer buffer) {
    int limit = httpStatus == 200 ? endpoint.maxMessageBytes() : MAX_ERROR_BODY;
    int room = limit - body.size();
    int take = Math.min(room, buffer.remaining());
    byte[] bytes = new byte[take];
    buffer.get(bytes);
    body.write(bytes, 0, take);
    if (buffer.hasRemaining() && httpStatus != 200) {
      answerFromBody(); // enough of an error body to say what it was
      return false;
    }
    if (buffer.hasRemaining()) {
      fail(Status.INTERNAL.withDescription("upstream " + endpoint.name() + " answered with over "
          + limit + " bytes"));
      return false;
    }
    return true;
  }

  /** An answer that was not an event stream: an error, or a whole completion as JSON. */
  private void answerFromBody() {
    String content = body.toString(StandardCharsets.UTF_8);
    OpenAiEvent event = null;
    try {
      event = OpenAiEvent.parse(content);
    } catch (IOException notJson) {
      // an HTML error page, a plain-text message
    }
    if (httpStatus != 200) {
      if (httpStatus == 401 || httpStatus == 403) {
        endpoint.credentialRejected(httpStatus);
      }
      String message = event != null && event.error() != null ? event.error().message() : content;
      fail(HttpStatusMapping.forHttpStatus(httpStatus, message, endpoint.name(), promptSample));
      return;
    }
    if (event == null || event.error() != null) {
      fail(event == null ? HttpStatusMapping.forHttpStatus(httpStatus, null, endpoint.name(), promptSample)
          : HttpStatusMapping.forStreamError(event.error(), endpoint.name(), promptSample));
      return;
    }
    accept(event);
    if (!finished) {
      if (finishReason == null) {
        finishReason = FinishReason.FINISH_REASON_STOP;
      }
      finish();
    }
    drain();
  }

  private void failed(Throwable exception) {
    if (closed || aborted) {
      return;
    }
    fail(HttpStatusMapping.forException(exception, endpoint.name()));
  }

  /**
   * Ends the call with {@code status}; a stream first delivers the chunks parsed before the failure,
   * so the client learns how far the answer got.
   */
  private void fail(Status status) {
    if (closed || failure != null) {
      return;
    }
    abort();
    failure = status;
    if (unary) {
      pending.clear();
    }
    drain();
  }

  private Metadata failureTrailers() {
    Metadata trailers = new Metadata();
    if (failure.getCode() == Status.Code.RESOURCE_EXHAUSTED && retryAfterMillis >= 0) {
      trailers.put(PUSHBACK_TRAILER, Long.toString(retryAfterMillis));
    }
    return trailers;
  }

  private void close(Status status) {
    close(status, new Metadata());
  }

  private void close(Status status, Metadata trailers) {
    closed = true;
    pending.clear();
    releaseConnection();
    if (loadReport != null) {
      trailers.put(LoadReportProto.TRAILER, loadReport);
    }
    call.close(status, trailers);
  }

  /** A bug in a step: logged, and the call ends with INTERNAL rather than waiting for a stall. */
  private void internalError(Throwable e) {
    endpoint.uncaught(e);
    try {
      if (!closed) {
        abort();
        close(Status.INTERNAL.withDescription("llmproxy failed translating the answer of upstream "
            + endpoint.name()));
      }
    } catch (RuntimeException again) {
      endpoint.uncaught(again);
    }
  }

  /** Abandons the HTTP exchange: the connection is closed, so the engine stops generating. */
  private void abort() {
    if (aborted) {
      return;
    }
    aborted = true;
    releaseConnection();
    if (subscription != null) {
      subscription.cancel();
    } else if (exchange != null) {
      exchange.cancel(true);
    }
  }

  private void releaseConnection() {
    if (holdsConnection) {
      holdsConnection = false;
      endpoint.closeConnection();
    }
  }

  @SuppressWarnings("unchecked")
  private RespT cast(Object message) {
    return (RespT) message;
  }

  /** Up to 32 characters of the prompt, to keep engine messages that quote it from the client. */
  private static String promptSample(CompletionRequest request) {
    String prompt = request.getMessagesCount() > 0
        ? request.getMessages(request.getMessagesCount() - 1).getContent() : request.getPrompt();
    return prompt.length() > 32 ? prompt.substring(0, 32) : prompt;
  }

  /** {@code Retry-After} in seconds, as milliseconds; -1 when absent or a date. */
  static long retryAfterMillis(String value) {
    if (value == null) {
      return -1;
    }
    try {
      long seconds = Long.parseLong(value.strip());
      return seconds < 0 ? -1 : Math.min(seconds, 3600) * 1000;
    } catch (NumberFormatException date) {
      return -1;
    }
  }
}
