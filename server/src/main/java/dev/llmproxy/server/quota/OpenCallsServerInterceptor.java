package dev.llmproxy.server.quota;

import dev.llmproxy.server.service.ProxyContext;
import io.grpc.Context;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Holds a key to its {@code max_concurrent} from the moment its call's headers arrive, on this
 * proxy: a call over the limit is refused before its request message is read, so a key cannot
 * keep more unfinished requests in memory than it may have calls (each up to {@code
 * max_request_bytes}). Runs right after authentication, which has put the key's id in the context.
 *
 * <p>This is the local half of the limit. The quota store's slot, shared by every replica, is
 * still taken when the message has arrived ({@link QuotaServerInterceptor}); a call refused here
 * would have been refused there too, because the calls open on this proxy hold (or are about to
 * ask for) store slots of their own.
 */
public final class OpenCallsServerInterceptor implements ServerInterceptor {
  private final QuotaPolicy policy;
  private final QuotaMetrics metrics;
  // One counter per key id: as many entries as configured keys (and the anonymous subject).
  private final Map<String, AtomicInteger> open;

  public OpenCallsServerInterceptor(QuotaPolicy policy, MeterRegistry meters) {
    this(policy, meters, null);
  }

  /**
   * After a config reload: the counts are shared with {@code previous} (null: none), so calls
   * still open under the old config count against the key's limit under the new one.
   */
  public OpenCallsServerInterceptor(QuotaPolicy policy, MeterRegistry meters, OpenCallsServerInterceptor previous) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.metrics = new QuotaMetrics(Objects.requireNonNull(meters, "meters"));
    this.open = previous != null ? previous.open : new ConcurrentHashMap<>();
  }

  /** Calls open on this proxy for {@code keyId}. */
  int open(String keyId) {
    AtomicInteger count = open.get(keyId);
    return count == null ? 0 : count.get();
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    QuotaSubject subject = policy.subject(ProxyContext.API_KEY_ID.get());
    if (subject == null || !subject.limits().limitsConcurrency()) {
      return next.startCall(call, headers); // unknown callers are refused later, by the quota stage
    }
    AtomicInteger count = open.computeIfAbsent(subject.id(), id -> new AtomicInteger());
    int max = subject.limits().maxConcurrent();
    if (!tryTake(count, max)) {
      metrics.exceeded(subject.id(), Set.of(QuotaLimit.CONCURRENCY));
      QuotaRejection rejection = QuotaRejection.of(QuotaDecision.exceeded(Set.of(QuotaLimit.CONCURRENCY),
          QuotaDecision.CONCURRENCY_RETRY_AFTER, -1, -1), subject, 0);
      call.close(rejection.status(), rejection.trailers());
      return new ServerCall.Listener<>() {};
    }
    Slot slot = new Slot(count);
    // grpc cancels a call's context however the call ends (a close from any layer, the client's
    // cancel or deadline, a reset stream), and at the moment the client goes away, together with the
    // store's slot (SettlingServerCall): so a client that cancels and calls again finds both free.
    Context.current().addListener(ended -> slot.release(), Runnable::run);
    try {
      return next.startCall(new SimpleForwardingServerCall<>(call) {
        @Override
        public void close(Status status, Metadata trailers) {
          slot.release(); // before the client can see the end and send its next call
          super.close(status, trailers);
        }
      }, headers);
    } catch (RuntimeException e) {
      slot.release();
      throw e;
    }
  }

  private static boolean tryTake(AtomicInteger count, int max) {
    for (int n = count.get(); n < max; n = count.get()) {
      if (count.compareAndSet(n, n + 1)) {
        return true;
      }
    }
    return false;
  }

  /** One call's place in its key's count, given back exactly once however the call ends. */
  private static final class Slot {
    private final AtomicInteger count;
    private final AtomicBoolean released = new AtomicBoolean();

    Slot(AtomicInteger count) {
      this.count = count;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        count.decrementAndGet();
      }
    }
  }
}
