package dev.llmproxy.server.service;

import dev.llmproxy.server.observability.ThrottledLog;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.UpstreamAttempt;
import dev.llmproxy.server.upstream.UpstreamFault;
import dev.llmproxy.server.upstream.UpstreamOutcome;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Forwards one call to its route's channel and relays the answer back, message by message, failing
 * over to another upstream while nothing has reached the client yet.
 *
 * <p>Flow control ({@link UpstreamDemand}): the upstream is asked for up to {@link #MAX_AHEAD}
 * messages at a time, and only while the client's side of the stream is ready; otherwise asking
 * waits for the client's {@code onReady}. A client that reads slowly therefore holds the upstream
 * back through HTTP/2 flow control instead of making the proxy buffer the stream. Readiness is
 * checked after each relayed message and on every {@code onReady}, so no wake-up is lost.
 *
 * <p>Failover: each try is an {@link Attempt}, a fresh upstream call on the route's channel. Whether
 * a failed attempt is followed by another, whose pick avoids the upstreams that failed this call,
 * is {@link Failover}'s decision. Upstream health is not the relay's business: the route's channel
 * learns each attempt's end itself and avoids ejected and busy upstreams; the relay tells it only
 * facts about the call ({@link UpstreamAttempt}: the upstreams this call failed on, whether the
 * client had gone, whether the attempt stalled). Nothing has been sent to the client when an
 * attempt fails over (response headers go out with the first message), so the client cannot tell.
 * Once a message was relayed the call is committed to its upstream: a later failure reaches the
 * client as an error status naming how many chunks it got, never as a short stream ending OK.
 *
 * <p>Fallback between routes: when the call's route cannot serve it before anything reached the
 * client ({@link RouteFallback}: every upstream down, ejected or busy, after failover within the
 * route), the next of its fallback routes ({@link ProxyContext#FALLBACKS}) with room
 * ({@link RouteSlots}) gets it, with a fresh set of attempts. The response header
 * {@code llmproxy-route} names the route that served. Each route sends its own
 * {@code upstream_model}, if it has one, as the request's model.
 *
 * <p>Stall detection: each attempt has a {@link StallWatchdog}, told when the relay asks the upstream
 * for a message and when one comes. A stalled attempt is cancelled; then it fails over or, after
 * the first message, closes the call with UNAVAILABLE.
 *
 * <p>Threads: server listener events arrive on the client connection's thread, upstream events on
 * the upstream connection's thread (the same one when the call's lane is its client connection's
 * loop), the stall timer on another. The server call is sent to only from upstream events of the
 * current attempt; a new attempt starts only from the previous attempt's last event. The
 * other threads only call the thread-safe {@code ClientCall.request} and {@code cancel}.
 *
 * <p>Deadlines and cancellation: every attempt carries the client's deadline (so no failover runs
 * past it, and the upstream sees it), and is cancelled when the client's call ends or its context is
 * cancelled (a drain cancels stragglers that way). The attempts are nevertheless created and started
 * in the root context, not the client call's: grpc runs queued channel work (such as starting a
 * health-check watch on a newly connected upstream) on whichever thread next calls into the
 * channel, and a watch started there would inherit the client call's context and die with it,
 * taking the upstream out of rotation.
 */
final class Relay<RespT> extends ServerCall.Listener<CompletionRequest> {
  static final Metadata.Key<String> UPSTREAM_HEADER =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> ROUTE_HEADER = Metadata.Key.of("llmproxy-route", Metadata.ASCII_STRING_MARSHALLER);
  /** Says the answer's usage was counted by the proxy, not reported by the engine; passed through. */
  static final Metadata.Key<String> USAGE_TRAILER = Metadata.Key.of("llmproxy-usage", Metadata.ASCII_STRING_MARSHALLER);
  /** The most messages asked of the upstream beyond what the client's side of the stream takes. */
  static final int MAX_AHEAD = 8;

  private final ServerCall<CompletionRequest, RespT> serverCall;
  private final MethodDescriptor<CompletionRequest, RespT> method;
  private final Metadata upstreamHeaders;
  private final Context context;
  private final ScheduledExecutorService timers;
  private final LongSupplier nanoTime;
  private final RelayMetrics metrics;
  private final ThrottledLog upstreamFaults;
  private final RouteSlots slots;
  private final ClientInterceptor attemptInterceptor; // null: none
  /** The first route's max_call, when the client set no deadline; else null. */
  private final Deadline proxyDeadline;

  private volatile CompletionRequest request;
  private volatile Attempt current;
  private volatile boolean clientGone;
  // Touched only where attempts start and end, one after another.
  private Route route;
  private FallbackRoutes fallbacks;
  private int attempts;
  private final List<SocketAddress> failedUpstreams = new ArrayList<>(2);
  private boolean headersSent;

  Relay(ServerCall<CompletionRequest, RespT> serverCall, MethodDescriptor<CompletionRequest, RespT> method,
      Route route, Metadata upstreamHeaders, RelaySupport support) {
    this.serverCall = serverCall;
    this.method = method;
    this.route = route;
    this.upstreamHeaders = upstreamHeaders;
    this.context = Context.current();
    this.timers = support.timers();
    this.nanoTime = support.nanoTime();
    this.metrics = support.metrics();
    this.upstreamFaults = support.upstreamFaults();
    this.slots = support.slots();
    this.attemptInterceptor = support.attemptInterceptor();
    FallbackRoutes next = ProxyContext.FALLBACKS.get(context);
    this.fallbacks = next == null ? FallbackRoutes.NONE : next;
    context.addListener(ended -> cancelAttempt("the client's call ended"), Runnable::run);
    Duration maxCall = route.config().resilience().timeouts().maxCall();
    this.proxyDeadline = context.getDeadline() == null && !maxCall.isZero()
        ? Deadline.after(maxCall.toNanos(), TimeUnit.NANOSECONDS) : null;
  }

  @Override
  public void onMessage(CompletionRequest message) {
    // grpc-java delivers at most one request message on these methods: it fails a call whose client
    // sends a second one before the message reaches any listener.
    request = message;
    serverCall.request(1); // lets the half-close through
    startAttempt(); // cancelled at once if the client went away meanwhile
  }

  @Override
  public void onHalfClose() {
    if (request == null) {
      serverCall.close(Status.INVALID_ARGUMENT.withDescription(
          "request: missing (expected: one request message)"), new Metadata());
    }
  }

  @Override
  public void onCancel() {
    clientGone = true;
    cancelAttempt("client cancelled");
  }

  /** Cancels the current attempt, if any; from any thread. */
  private boolean cancelAttempt(String why) {
    Attempt attempt = current;
    if (attempt == null) {
      return false;
    }
    Context previous = Context.ROOT.attach();
    try {
      attempt.call.cancel(why, null);
    } finally {
      Context.ROOT.detach(previous);
    }
    return true;
  }

  @Override
  public void onReady() {
    Attempt attempt = current;
    if (attempt != null && serverCall.isReady()) {
      attempt.demand.topUp();
    }
  }

  private void startAttempt() {
    attempts++;
    Attempt attempt = new Attempt(route, List.copyOf(failedUpstreams));
    CallOptions options = route.withAffinity(CallOptions.DEFAULT.withStreamTracerFactory(attempt.tracerFactory)
        .withOption(Route.CALL_OPTION, route).withOption(UpstreamAttempt.CALL_OPTION, attempt), request,
        ProxyContext.API_KEY_ID.get(context));
    Deadline deadline = context.getDeadline() != null ? context.getDeadline() : proxyDeadline;
    if (deadline != null) {
      options = options.withDeadline(deadline);
    }
    Metadata headers = new Metadata();
    headers.merge(upstreamHeaders);
    Context previous = Context.ROOT.attach(); // see the class comment
    try {
      // The generation's own attempt interceptor, not the channel's: a route's channel outlives the
      // generation (and its tracing) when a reload keeps the route.
      attempt.call = attemptInterceptor == null ? route.channel().newCall(method, options)
          : attemptInterceptor.interceptCall(method, options, route.channel());
      attempt.demand = new UpstreamDemand(attempt.call, attempt.watchdog, MAX_AHEAD);
      current = attempt;
      attempt.call.start(attempt, headers);
      attempt.call.sendMessage(upstreamRequest(route));
      attempt.call.halfClose();
      attempt.demand.topUp();
    } finally {
      Context.ROOT.detach(previous);
    }
    if (clientIsGone()) {
      cancelAttempt("the client's call ended"); // it may have ended before the attempt was current
    }
    attempt.watchdog.start();
  }

  /** The request as {@code route}'s upstreams get it: with the route's {@code upstream_model}, if set. */
  private CompletionRequest upstreamRequest(Route target) {
    String model = target.config().upstreamModel();
    return model == null || model.equals(request.getModel()) ? request : request.toBuilder().setModel(model).build();
  }

  /**
   * Moves the call to the first fallback route with room; false if there is none. Called where an
   * attempt ended, before the next starts.
   */
  private boolean moveToFallback() {
    for (int i = 0; i < fallbacks.routes().size(); i++) {
      Route next = fallbacks.routes().get(i);
      if (slots.tryTake(next, context)) {
        metrics.fallback(route.name(), next.name());
        route = next;
        fallbacks = fallbacks.after(i);
        attempts = 0;
        failedUpstreams.clear();
        return true;
      }
    }
    fallbacks = FallbackRoutes.NONE;
    return false;
  }

  /** Whether the client's side of the call is over: cancelled, or its deadline passed. */
  private boolean clientIsGone() {
    if (clientGone || context.isCancelled()) {
      return true;
    }
    Deadline deadline = context.getDeadline();
    return deadline != null && deadline.isExpired();
  }

  /** How long the first message may take on {@code route}: for {@code Complete} it is the whole answer. */
  private long firstMessageLimitNanos(Route route) {
    long firstTokenNanos = route.config().resilience().timeouts().firstToken().toNanos();
    long betweenTokensNanos = route.config().resilience().timeouts().betweenTokens().toNanos();
    if (!method.getType().serverSendsOneMessage()) {
      return firstTokenNanos;
    }
    if (firstTokenNanos == 0 || betweenTokensNanos == 0) {
      return 0;
    }
    return firstTokenNanos + (long) Math.max(1, request.getMaxTokens()) * betweenTokensNanos;
  }

  private void sendHeadersOnce(String routeName, String upstreamName) {
    if (!headersSent) {
      headersSent = true;
      Metadata headers = new Metadata();
      headers.put(ROUTE_HEADER, routeName);
      if (upstreamName != null) {
        headers.put(UPSTREAM_HEADER, upstreamName);
      }
      serverCall.sendHeaders(headers);
    }
  }

  /** One try of the call on one upstream. */
  private final class Attempt extends ClientCall.Listener<RespT> implements StallWatchdog.Stalled, UpstreamAttempt {
    private final Route route;
    private final List<SocketAddress> failedBefore;
    private final long betweenTokensNanos;
    final StallWatchdog watchdog;
    ClientCall<CompletionRequest, RespT> call;
    UpstreamDemand demand;
    // The upstream the stream went to, from the transport it was created on (grpc reports no
    // remote address for a call that ends before response headers).
    private volatile SocketAddress upstream;
    private String upstreamName;
    private volatile int received;
    private volatile boolean stalled;
    private final ClientStreamTracer tracer = new ClientStreamTracer() {
      @Override
      public void streamCreated(Attributes transportAttrs, Metadata headers) {
        upstream = transportAttrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      }
    };
    final ClientStreamTracer.Factory tracerFactory = new ClientStreamTracer.Factory() {
      @Override
      public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
        return tracer;
      }
    };

    Attempt(Route route, List<SocketAddress> failedBefore) {
      this.route = route;
      this.failedBefore = failedBefore;
      this.betweenTokensNanos = route.config().resilience().timeouts().betweenTokens().toNanos();
      this.watchdog = new StallWatchdog(nanoTime, timers, firstMessageLimitNanos(route), betweenTokensNanos,
          method.getType().serverSendsOneMessage(), this);
    }

    @Override
    public void onMessage(RespT message) {
      boolean low = demand.received();
      received++;
      sendHeadersOnce(route.name(), upstreamName());
      serverCall.sendMessage(message);
      if (low && serverCall.isReady()) {
        demand.topUp();
      }
    }

    @Override
    public List<SocketAddress> failedUpstreams() {
      return failedBefore;
    }

    @Override
    public boolean callerGone() {
      return clientIsGone();
    }

    @Override
    public boolean stalled() {
      return stalled;
    }

    @Override
    public void stalled(boolean beforeFirstMessage) {
      stalled = true;
      metrics.stall(route.name(), beforeFirstMessage);
      call.cancel("llmproxy: upstream stalled", null); // onClose fails over or fails the call
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      watchdog.stop();
      boolean gone = clientIsGone();
      Status why = gone ? Contexts.statusFromCancelled(context) : null;
      if (why != null && why.getCode() == Status.Code.UNAVAILABLE) {
        status = why; // the proxy is shutting down: say so, rather than "cancelled"
      }
      Status judged = gone ? status : UpstreamFault.judged(status, upstreamName());
      if (judged != status) {
        status = judged;
        upstreamFaults.warn("route '" + route.name() + "': " + status.getDescription()
            + (received == 0 ? "; calls to it fail over" : "; the call failed after " + received + " chunks"));
      }
      metrics.outcome(route.name(), UpstreamOutcome.of(status.getCode(), stalled, gone));
      if (!gone && status.getCode() == Status.Code.CANCELLED && !stalled) {
        // Neither the client nor the proxy cancelled: the upstream or its connection did (a killed
        // server resets its streams). That is the upstream failing, not the client going away.
        status = Status.UNAVAILABLE.withDescription(status.getDescription()).withCause(status.getCause());
      }
      Failover.AttemptEnd end = new Failover.AttemptEnd(status.getCode(), received, stalled, gone, upstream);
      if (Failover.failsOver(end, route.config().resilience().retry(), route.hasAlternatives(), attempts,
          failedUpstreams)) {
        if (upstream != null) {
          failedUpstreams.add(upstream);
        }
        metrics.failover(route.name());
        startAttempt(); // the last thing this attempt does: the next one may run on another thread now
        return;
      }
      if (!fallbacks.isEmpty() && RouteFallback.fallsBack(end) && moveToFallback()) {
        startAttempt(); // as above, on the fallback route
        return;
      }
      Metadata clientTrailers = new Metadata();
      String usage = trailers.get(USAGE_TRAILER);
      if (usage != null && status.isOk()) {
        clientTrailers.put(USAGE_TRAILER, usage);
      }
      serverCall.close(clientStatus(status), clientTrailers);
    }

    private Status clientStatus(Status status) {
      String upstreamName = upstreamName();
      if (stalled) {
        String who = upstreamName == null ? "its upstream" : "upstream " + upstreamName;
        if (received > 0) {
          return Status.UNAVAILABLE.withDescription("route '" + route.name() + "', " + who
              + ": stalled after " + received + " chunks (no chunk within " + millis(betweenTokensNanos) + ")");
        }
        return Status.UNAVAILABLE.withDescription("route '" + route.name() + "': no upstream available"
            + (attempts > 1 ? " after " + attempts + " attempts" : "") + " (" + who
            + " sent no " + (method.getType().serverSendsOneMessage() ? "answer" : "first chunk")
            + " within " + millis(firstMessageLimitNanos(route)) + ")");
      }
      if (status.isOk() && received == 0 && method.getType().serverSendsOneMessage()) {
        return Status.INTERNAL.withDescription("route '" + route.name() + "': upstream "
            + upstreamName + " answered without a completion");
      }
      if (status.isOk()) {
        sendHeadersOnce(route.name(), upstreamName);
        return status;
      }
      if (status.getCode() == Status.Code.DEADLINE_EXCEEDED && proxyDeadline != null && proxyDeadline.isExpired()) {
        return Status.DEADLINE_EXCEEDED.withDescription("route '" + route.name() + "': the call ran past the route's "
            + "timeouts.max_call (" + millis(route.config().resilience().timeouts().maxCall().toNanos())
            + "; the client set no deadline) after " + received + " chunks");
      }
      return UpstreamStatus.toClientStatus(status, route.name(), upstreamName, received, attempts);
    }

    private String upstreamName() {
      if (upstreamName == null && upstream != null) {
        upstreamName = route.upstreamName(upstream);
      }
      return upstreamName;
    }
  }

  private static String millis(long nanos) {
    long ms = TimeUnit.NANOSECONDS.toMillis(nanos);
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }
}
