package dev.llmproxy.server.quota;

import dev.llmproxy.server.service.Decision;
import dev.llmproxy.server.service.PendingCall;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.service.RequestDecidingServerInterceptor;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
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
 * <p>The store may answer on another thread (Redis replies arrive on Lettuce's threads): the
 * decision completes there, and {@link PendingCall} carries it out without a lock; the call keeps
 * its context.
 */
public final class QuotaServerInterceptor extends RequestDecidingServerInterceptor {
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
  protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    QuotaSubject subject = policy.subject(ProxyContext.API_KEY_ID.get(call.context()));
    if (subject == null) {
      // Authentication runs first and admits no one else; refuse rather than count nobody.
      return now(Decision.reject(Status.UNAUTHENTICATED.withDescription("API key: missing")));
    }
    Route route = ProxyContext.ROUTE.get(call.context());
    List<String> routeModels = route == null ? List.of() : route.config().models();
    if (!subject.mayUse(request.getModel(), routeModels)) {
      metrics.denied(subject.id());
      return now(Decision.reject(Status.PERMISSION_DENIED.withDescription("model: \"" + abbreviate(request.getModel())
          + "\" is not allowed for " + subject.describe() + " (expected: one of " + subject.models() + ")")));
    }
    if (subject.limits().isUnlimited()) {
      return now(Decision.proceed(request, call.call(), call.context()));
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
    return pending.handle((decision, error) -> {
      if (error != null) {
        metrics.unavailable(subject.id());
        LOG.log(System.Logger.Level.WARNING, "quota store failed: " + error);
        return Decision.reject(Status.UNAVAILABLE.withDescription("quota store: failed ("
            + error.getClass().getSimpleName() + ")"));
      }
      return decide(call, request, subject, decision, tokens, promptTokens);
    });
  }

  private <ReqT, RespT> Decision<ReqT, RespT> decide(PendingCall<ReqT, RespT> call, CompletionRequest request,
      QuotaSubject subject, QuotaDecision decision, long tokens, long promptTokens) {
    return switch (decision.outcome()) {
      case ADMITTED -> {
        metrics.admitted(subject.id());
        SettlingServerCall<ReqT, RespT> settling = new SettlingServerCall<>(call.call(), store, decision, promptTokens);
        settling.settleWhenCancelled(call.context());
        yield Decision.proceed(request, settling, call.context(), settling::abandon);
      }
      case EXCEEDED -> {
        metrics.exceeded(subject.id(), decision.exceeded());
        QuotaRejection rejection = QuotaRejection.of(decision, subject, tokens);
        yield Decision.reject(rejection.status(), rejection.trailers());
      }
      case STORE_UNAVAILABLE -> {
        metrics.unavailable(subject.id());
        yield Decision.reject(Status.UNAVAILABLE.withDescription(
            "quota store: unavailable, and configured to refuse calls meanwhile (on_failure: closed)"));
      }
    };
  }

  private static String abbreviate(String model) {
    return model.length() <= 128 ? model : model.substring(0, 128) + "...";
  }
}
