package dev.llmproxy.server.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.CacheNamespace;
import dev.llmproxy.server.service.Decision;
import dev.llmproxy.server.service.PendingCall;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.service.RequestDecidingServerInterceptor;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ForkJoinPool;

/**
 * Answers repeated cacheable requests from the {@link ResponseCache}, and lets identical calls in
 * flight share one upstream call ({@link SingleFlight}), for both RPCs. Runs after routing (the
 * route is in the context, the request has its defaults) and after quota, right before the
 * forwarding service.
 *
 * <p>Per call: the {@link CachePolicy} decides from the route's mode, the request and
 * {@code llmproxy-cache-control}. A bypassed call goes down the chain untouched but for its
 * {@code llmproxy-cache: bypass} header. Otherwise the call is served here by a {@link Replay}: of
 * the stored answer (hit), of the flight in progress it joins (coalesced), or of a new flight whose
 * upstream call it starts (miss; with {@code no-cache}, bypass) and whose answer is stored.
 */
public final class CacheServerInterceptor extends RequestDecidingServerInterceptor {
  static final Metadata.Key<String> CACHE_CONTROL =
      Metadata.Key.of(CacheControl.HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private static final Attributes COALESCED_WITH =
      Attributes.of(AttributeKey.stringKey("llmproxy.link"), "coalesced_with");

  private final CacheConfig config;
  private final ResponseCache cache;
  private final CacheMetrics metrics;
  private final CachePolicy policy;
  private final SingleFlight flights = new SingleFlight();
  private final SharedResponseCache shared;

  CacheServerInterceptor(CacheConfig config, ResponseCache cache, CacheMetrics metrics) {
    this(config, cache, null, metrics);
  }

  /** @param shared the second level, shared by replicas; null: none */
  CacheServerInterceptor(CacheConfig config, ResponseCache cache, SharedResponseCache shared, CacheMetrics metrics) {
    this.config = Objects.requireNonNull(config, "config");
    this.cache = Objects.requireNonNull(cache, "cache");
    this.shared = shared;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.policy = new CachePolicy(config);
    metrics.gauge("llmproxy.cache.flights", "Upstream calls in flight that identical calls may join",
        flights, SingleFlight::size);
  }

  /** The interceptor over an in-memory Caffeine cache sized by {@code config}, metered in {@code meters}. */
  public static CacheServerInterceptor create(CacheConfig config, MeterRegistry meters) {
    return create(config, null, meters);
  }

  /**
   * The interceptor over an in-memory Caffeine cache sized by {@code config} and, behind it, the
   * {@code shared} level (null: none; the caller owns and closes it), metered in {@code meters}.
   */
  public static CacheServerInterceptor create(CacheConfig config, SharedResponseCache shared, MeterRegistry meters) {
    CacheMetrics metrics = new CacheMetrics(meters);
    return new CacheServerInterceptor(config, new CaffeineResponseCache(config.maxBytes(), config.ttl(),
        Ticker.systemTicker(), ForkJoinPool.commonPool(), metrics), shared, metrics);
  }

  @Override
  protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    Route route = ProxyContext.ROUTE.get(call.context());
    if (route == null) {
      return now(Decision.proceed(request, call.call(), call.context())); // the service reports the missing route
    }
    CacheControl control;
    try {
      control = CacheControl.parse(call.headers().getAll(CACHE_CONTROL));
    } catch (IllegalArgumentException e) {
      return now(Decision.reject(Status.INVALID_ARGUMENT.withDescription(e.getMessage())));
    }
    CacheAction action = policy.decide(route.name(), request, control);
    if (action == CacheAction.BYPASS) {
      metrics.outcome(CacheOutcome.BYPASS);
      return now(Decision.proceed(request, new LabelledServerCall<>(call.call(), CacheOutcome.BYPASS), call.context()));
    }
    CacheKey key = CacheKey.of(namespace(call.context()), route.name(), request);
    Replay<ReqT, RespT> replay = new Replay<>(call.call(), call.isUnary());
    if (action == CacheAction.REFRESH || !config.coalesce()) {
      Flight own = newFlight(key, request, call.context());
      own.join(replay);
      if (config.coalesce()) {
        flights.offer(key, own);
      }
      return now(serve(replay, own, action == CacheAction.REFRESH ? CacheOutcome.BYPASS : CacheOutcome.MISS,
          () -> startUpstream(own, call, request)));
    }
    CachedAnswer stored = cache.get(key);
    if (stored != null) {
      return now(serve(replay, ChunkSource.of(stored), CacheOutcome.HIT, () -> { }));
    }
    if (shared == null) {
      return now(joinOrLead(call, request, key, replay));
    }
    // The shared level answers within its timeout, a miss otherwise; either way on its own thread,
    // which only serves from memory or starts the upstream call, neither of which blocks.
    return shared.get(key).thenApply(remote -> {
      if (remote == null) {
        return joinOrLead(call, request, key, replay);
      }
      cache.put(key, remote); // later calls on this replica hit locally
      return serve(replay, ChunkSource.of(remote), CacheOutcome.HIT, () -> { });
    });
  }

  /**
   * Joins the identical call in flight on this replica (coalescing is per replica: a flight is
   * local state), or leads a new flight whose upstream call this call starts.
   */
  private <ReqT, RespT> Decision<ReqT, RespT> joinOrLead(PendingCall<ReqT, RespT> call, CompletionRequest request,
      CacheKey key, Replay<ReqT, RespT> replay) {
    SingleFlight.Membership membership =
        flights.join(key, replay, () -> newFlight(key, request, call.context()));
    Flight flight = membership.flight();
    if (!membership.leader()) {
      linkToLeader(call.context(), flight);
      return serve(replay, flight, CacheOutcome.COALESCED, () -> { });
    }
    // The answer may have been stored between the lookup and the registration (its flight ends
    // by storing, then leaving the registry): then it, not the upstream, answers this flight.
    CachedAnswer storedMeanwhile = cache.get(key);
    if (storedMeanwhile != null) {
      flight.completeFrom(storedMeanwhile);
      return serve(replay, flight, CacheOutcome.HIT, () -> { });
    }
    return serve(replay, flight, CacheOutcome.MISS, () -> startUpstream(flight, call, request));
  }

  /**
   * With tracing on, a call that joins another's upstream call gets a link to that call's server
   * span: its own trace has no upstream attempt, the leader's has the one they share.
   */
  private static void linkToLeader(Context joiner, Flight flight) {
    Span span = ProxyContext.SERVER_SPAN.get(joiner);
    Span leader = flight.startedBy();
    if (span != null && leader != null) {
      span.addLink(leader.getSpanContext(), COALESCED_WITH);
    }
  }

  private Flight newFlight(CacheKey key, CompletionRequest request, Context context) {
    return new Flight(request.getModel(), config.maxEntryBytes(), context, answer -> {
      cache.put(key, answer);
      if (shared != null) {
        shared.put(key, answer);
      }
      metrics.stored();
    }, f -> flights.remove(key, f), metrics);
  }

  /**
   * Serves the call from {@code source} through {@code replay}; {@code then} runs once the call is
   * served or, if the client went away while it was pending, once it has left the source (a
   * flight this call leads still starts, for the calls that may join it).
   */
  private <ReqT, RespT> Decision<ReqT, RespT> serve(Replay<ReqT, RespT> replay, ChunkSource source,
      CacheOutcome outcome, Runnable then) {
    metrics.outcome(outcome);
    replay.begin(source, outcome);
    return Decision.serve(replay, () -> {
      replay.drain();
      then.run();
    }, () -> {
      source.leave(replay);
      then.run();
    });
  }

  private static <ReqT, RespT> void startUpstream(Flight flight, PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    flight.start(context -> call.startDetached(request, new FlightServerCall<>(flight, call.call()), context));
  }

  private String namespace(Context context) {
    if (config.namespace() == CacheNamespace.SHARED) {
      return "shared";
    }
    String keyId = ProxyContext.API_KEY_ID.get(context);
    return keyId == null ? "anonymous" : "key:" + keyId;
  }
}
