package dev.llmproxy.server.quota;

import dev.llmproxy.server.service.FirstMessageServerInterceptor;
import dev.llmproxy.server.service.GatedCall;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Holds each call to its caller's quota before any upstream work: checks the model allowlist
 * ({@code PERMISSION_DENIED}), then asks the {@link QuotaStore} for one request, the call's token
 * estimate and a concurrency slot. An admitted call proceeds wrapped in a {@link
 * SettlingServerCall}, which reports what is left and settles real usage when the call ends; a
 * refused one is closed with a {@link QuotaRejection}. Runs after routing (the route is known and
 * the request's defaults are filled in) and after authentication (the key's id is in the context).
 *
 * <p>The store may answer on another thread (Redis replies arrive on Lettuce's threads);
 * {@link GatedCall} makes proceeding or rejecting from there safe, and the call keeps its context.
 */
public final class QuotaServerInterceptor extends FirstMessageServerInterceptor {
  private static final System.Logger LOG = System.getLogger(QuotaServerInterceptor.class.getName());

  private final QuotaPolicy policy;
  private final QuotaStore store;
  private final TokenEstimator estimator;
  private final QuotaMetrics metrics;

  public QuotaServerInterceptor(QuotaPolicy policy, QuotaStore store, TokenEstimator estimator,
      MeterRegistry meters) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.store = Objects.requireNonNull(store, "store");
    this.estimator = Objects.requireNonNull(estimator, "estimator");
    this.metrics = new QuotaMetrics(Objects.requireNonNull(meters, "meters"));
  }

  @Override
  protected <ReqT, RespT> void onRequest(GatedCall<ReqT, RespT> call, CompletionRequest request) {
    QuotaSubject subject = policy.subject(ProxyContext.API_KEY_ID.get(call.context()));
    if (subject == null) {
      // Authentication runs first and admits no one else; refuse rather than count nobody.
      call.reject(Status.UNAUTHENTICATED.withDescription("API key: missing"), new Metadata());
      return;
    }
    Route route = ProxyContext.ROUTE.get(call.context());
    List<String> routeModels = route == null ? List.of() : route.config().models();
    if (!subject.mayUse(request.getModel(), routeModels)) {
      metrics.denied(subject.id());
      call.reject(Status.PERMISSION_DENIED.withDescription("model: \"" + abbreviate(request.getModel())
          + "\" is not allowed for " + subject.describe() + " (expected: one of " + subject.models() + ")"),
          new Metadata());
      return;
    }
    if (subject.limits().isUnlimited()) {
      call.proceed(request);
      return;
    }
    int defaultMaxTokens = route == null ? 0 : route.config().defaultMaxTokens();
    long promptTokens = estimator.promptTokens(request);
    long tokens = estimator.estimate(request, defaultMaxTokens);
    CompletionStage<QuotaDecision> pending;
    try {
      pending = store.acquire(subject.id(), subject.limits(), tokens);
    } catch (RuntimeException e) {
      pending = CompletableFuture.failedFuture(e);
    }
    pending.whenComplete((decision, error) -> {
      // Nothing may escape this callback: the stage would swallow it and leave the call hanging.
      try {
        if (error != null) {
          metrics.unavailable(subject.id());
          LOG.log(System.Logger.Level.WARNING, "quota store failed: " + error);
          call.reject(Status.UNAVAILABLE.withDescription("quota store: failed (" + error.getClass().getSimpleName()
              + ")"), new Metadata());
          return;
        }
        decide(call, request, subject, decision, tokens, promptTokens);
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "quota: deciding a call failed", e);
        call.reject(Status.INTERNAL.withDescription("quota: " + e.getClass().getSimpleName()), new Metadata());
      }
    });
  }

  private <ReqT, RespT> void decide(GatedCall<ReqT, RespT> call, CompletionRequest request, QuotaSubject subject,
      QuotaDecision decision, long tokens, long promptTokens) {
    switch (decision.outcome()) {
      case ADMITTED -> {
        metrics.admitted(subject.id());
        SettlingServerCall<ReqT, RespT> settling = new SettlingServerCall<>(call.call(), store, decision, promptTokens);
        settling.settleWhenCancelled(call.context());
        if (!call.proceed(request, settling, call.context())) {
          settling.abandon();
        }
      }
      case EXCEEDED -> {
        metrics.exceeded(subject.id(), decision.exceeded());
        QuotaRejection rejection = QuotaRejection.of(decision, subject, tokens);
        call.reject(rejection.status(), rejection.trailers());
      }
      case STORE_UNAVAILABLE -> {
        metrics.unavailable(subject.id());
        call.reject(Status.UNAVAILABLE.withDescription(
            "quota store: unavailable, and configured to refuse calls meanwhile (on_failure: closed)"),
            new Metadata());
      }
    }
  }

  private static String abbreviate(String model) {
    return model.length() <= 128 ? model : model.substring(0, 128) + "...";
  }
}
