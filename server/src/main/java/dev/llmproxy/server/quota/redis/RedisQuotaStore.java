package dev.llmproxy.server.quota.redis;

import dev.llmproxy.server.observability.ThrottledLog;
import dev.llmproxy.server.quota.FailureMode;
import dev.llmproxy.server.quota.QuotaDecision;
import dev.llmproxy.server.quota.QuotaLimit;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaPermit;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.quota.RedisStoreConfig;
import dev.llmproxy.server.redis.LazyRedisConnection;
import dev.llmproxy.server.redis.RedisClientSettings;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.resource.ClientResources;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.InstantSource;
import java.util.EnumSet;
import java.util.function.Supplier;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Quotas shared by every proxy replica through one Redis server.
 *
 * <p>Each call is one {@code EVALSHA} of {@code quota.lua}, which refills, checks and takes all of
 * a subject's limits in one atomic step inside Redis (see the script's header for the state
 * layout). Bucket4j's Redis backends were not used: they update state by optimistic
 * compare-and-swap from the client (a read, then a conditional write, retried on conflict), which
 * costs two or more round trips per call and retries without bound on a hot key, and they keep
 * each limit in its own bucket, so taking a request, tokens and a slot together could not be
 * atomic.
 *
 * <p>Nothing blocks: the Lettuce client is asynchronous, replies complete on its I/O threads, and
 * every acquire is bounded by {@code timeout}. When Redis does not answer in time (down, hung,
 * unreachable) the configured {@link FailureMode} decides: open admits the call without counting
 * it in Redis, closed refuses it as unavailable; either way the failure is counted and logged at
 * most once per interval. A reply that arrives after the call was decided without it is undone, so
 * a late admission holds no slot. Lettuce reconnects by itself, commands are rejected at once
 * while it is disconnected, and the script is sent again when a restarted Redis no longer knows
 * it, so the store recovers without intervention.
 */
public final class RedisQuotaStore implements QuotaStore {
  private static final System.Logger LOG = System.getLogger(RedisQuotaStore.class.getName());
  private static final Duration LOG_INTERVAL = Duration.ofSeconds(10);

  private final RedisStoreConfig config;
  private final InstantSource clock;
  private final ClientResources resources;
  private final RedisClient client;
  private final LazyRedisConnection<String, String> connection;
  private final QuotaScript script = new QuotaScript();
  private final ConcurrentHashMap<String, String[]> keysBySubject = new ConcurrentHashMap<>();
  private final String slotPrefix = Long.toHexString(ThreadLocalRandom.current().nextLong()) + ":";
  private final AtomicLong slots = new AtomicLong();
  private final long timeoutMillis;
  private final Counter acquireFailures;
  private final Counter releaseFailures;
  private final Counter lateAdmissionsUndone;
  private final ThrottledLog failureLog;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private volatile boolean closed;

  /**
   * Starts connecting at once, and keeps trying every half second until Redis answers (see
   * {@link #ready()}); meanwhile the store works in its failure mode.
   */
  public RedisQuotaStore(RedisStoreConfig config, InstantSource clock, MeterRegistry meters) {
    this.config = config;
    this.clock = clock;
    this.timeoutMillis = config.timeout().toMillis();
    this.resources = RedisClientSettings.resources(2);
    Supplier<String> password = config.password() == null ? null : config.password()::resolve;
    if (password != null) {
      password.get(); // an unreadable credential stops the start, as every secret does
    }
    // Read again for every connection, so a rotated password file is used from the next one on.
    RedisURI uri = RedisClientSettings.uri(config.uri(), password);
    this.client = RedisClient.create(resources, uri);
    client.setOptions(RedisClientSettings.failFast(config.timeout()));
    this.connection = new LazyRedisConnection<>(client, StringCodec.UTF8, uri, Duration.ofMillis(500));
    String mode = config.onFailure().name().toLowerCase();
    this.acquireFailures = Counter.builder("llmproxy.quota.store.failures").tag("store", "redis")
        .tag("operation", "acquire").tag("on_failure", mode)
        .description("Quota checks the Redis store did not answer in time").register(meters);
    this.releaseFailures = Counter.builder("llmproxy.quota.store.failures").tag("store", "redis")
        .tag("operation", "release").tag("on_failure", mode).register(meters);
    this.lateAdmissionsUndone = Counter.builder("llmproxy.quota.store.late_replies").tag("store", "redis")
        .description("Admissions Redis granted after the call was decided without it, then undone")
        .register(meters);
    this.failureLog = new ThrottledLog(LOG, LOG_INTERVAL, System::nanoTime);
    // Connect and load the script now; callers will not wait for either beyond the timeout.
    connectUntilAnswered();
  }

  /** Completes once Redis has answered (connected and loaded the script); never fails. */
  @Override
  public CompletionStage<Void> ready() {
    return ready;
  }

  private void connectUntilAnswered() {
    if (closed) {
      return;
    }
    connection.commands().thenCompose(script::load).whenComplete((sha, error) -> {
      if (error == null) {
        ready.complete(null);
        return;
      }
      failureLog.warn("quota store: Redis at " + RedisStoreConfig.redact(config.uri()) + " does not answer yet ("
          + describe(error) + "); retrying, and the proxy reports NOT_SERVING until it does");
      if (!closed) {
        try {
          resources.eventExecutorGroup().schedule(this::connectUntilAnswered, 500, TimeUnit.MILLISECONDS);
        } catch (RuntimeException shuttingDown) {
          // Closed meanwhile.
        }
      }
    });
  }

  @Override
  public CompletionStage<QuotaDecision> acquire(String subject, QuotaLimits limits, long tokens) {
    String[] keys = keys(subject);
    String slot = limits.limitsConcurrency() ? slotPrefix + slots.incrementAndGet() : null;
    long now = clock.millis();
    long lease = config.slotLease().toMillis();
    CompletableFuture<QuotaDecision> decided = new CompletableFuture<>();
    connection.commands()
        .thenCompose(redis -> script.acquire(redis, keys, now, limits, tokens, slot, lease))
        .whenComplete((reply, error) -> {
          if (error != null) {
            decided.completeExceptionally(error);
            return;
          }
          QuotaDecision decision = decision(subject, limits, tokens, slot, reply);
          if (!decided.complete(decision) && decision.isAdmitted()) {
            // The call was already decided without this answer: give everything back.
            lateAdmissionsUndone.increment();
            release(decision.permit(), 0, true);
          }
        });
    return decided.orTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
        .exceptionally(error -> failed(subject, limits, tokens, error));
  }

  @Override
  public void release(QuotaPermit permit, long usedTokens, boolean refundRequest) {
    if (!permit.backed()) {
      return;
    }
    String[] keys = keys(permit.subject());
    long now = clock.millis();
    connection.commands()
        .thenCompose(redis -> script.release(redis, keys, now, permit.limits(),
            permit.reservedTokens() - usedTokens, permit.slot(), refundRequest))
        .orTimeout(Math.max(timeoutMillis, 1000), TimeUnit.MILLISECONDS)
        .whenComplete((reply, error) -> {
          if (error != null) {
            releaseFailures.increment();
            failureLog.warn("quota store: could not release a call of '" + permit.subject() + "' in Redis at "
                + RedisStoreConfig.redact(config.uri()) + " (" + describe(error) + "); its slot frees itself after "
                + config.slotLease().toSeconds() + "s");
          }
        });
  }

  private QuotaDecision decision(String subject, QuotaLimits limits, long tokens, String slot, List<Object> reply) {
    long requestsLeft = limits.limitsRequests() ? Math.max(0, number(reply, 1)) : -1;
    long tokensLeft = limits.limitsTokens() ? Math.max(0, number(reply, 2)) : -1;
    if (number(reply, 0) == 1) {
      return QuotaDecision.admitted(new QuotaPermit(subject, limits, tokens, slot, true), requestsLeft, tokensLeft);
    }
    EnumSet<QuotaLimit> exceeded = EnumSet.noneOf(QuotaLimit.class);
    long waitMillis = 0;
    boolean never = false;
    long requestWait = number(reply, 3);
    long tokenWait = number(reply, 4);
    if (requestWait > 0) {
      exceeded.add(QuotaLimit.REQUESTS);
      waitMillis = requestWait;
    }
    if (tokenWait != 0) {
      exceeded.add(QuotaLimit.TOKENS);
      never = tokenWait < 0;
      waitMillis = Math.max(waitMillis, tokenWait);
    }
    if (number(reply, 5) == 1) {
      exceeded.add(QuotaLimit.CONCURRENCY);
      waitMillis = Math.max(waitMillis, QuotaDecision.CONCURRENCY_RETRY_AFTER.toMillis());
    }
    return QuotaDecision.exceeded(exceeded, never ? null : Duration.ofMillis(waitMillis), requestsLeft, tokensLeft);
  }

  private QuotaDecision failed(String subject, QuotaLimits limits, long tokens, Throwable error) {
    acquireFailures.increment();
    boolean open = config.onFailure() == FailureMode.OPEN;
    failureLog.warn("quota store: Redis at " + RedisStoreConfig.redact(config.uri()) + " did not answer within "
        + timeoutMillis + "ms (" + describe(error) + "); failing " + (open ? "open: calls are admitted uncounted"
        : "closed: calls are refused as UNAVAILABLE"));
    return open ? QuotaDecision.admitted(QuotaPermit.unbacked(subject, limits, tokens), -1, -1)
        : QuotaDecision.storeUnavailable();
  }

  private String[] keys(String subject) {
    String[] keys = keysBySubject.get(subject);
    if (keys == null) {
      // The hash tag keeps both keys of a subject in one Redis Cluster slot, as a script requires.
      String base = config.keyPrefix() + "{" + subject + "}";
      keys = keysBySubject.computeIfAbsent(subject, s -> new String[] {base + ":buckets", base + ":slots"});
    }
    return keys;
  }

  private static long number(List<Object> reply, int index) {
    return ((Number) reply.get(index)).longValue();
  }

  private static String describe(Throwable error) {
    Throwable e = error;
    while (e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    String text = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    return text.length() > 200 ? text.substring(0, 200) : text;
  }

  @Override
  public void close() {
    closed = true;
    connection.close();
    try {
      client.shutdownAsync(0, 2, TimeUnit.SECONDS).get(3, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.log(System.Logger.Level.WARNING, "quota store: Redis client did not shut down cleanly (" + describe(e) + ")");
    }
    resources.shutdown(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
  }
}
