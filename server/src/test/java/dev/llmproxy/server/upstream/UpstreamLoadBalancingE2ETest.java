package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Three real gRPC servers on 127.0.0.1 ephemeral ports, one channel over {@code static:///} with
 * the service config from {@link UpstreamServiceConfig}: balancing and client-side health checking
 * as a proxy will see them.
 */
@Timeout(60)
class UpstreamLoadBalancingE2ETest {
  private static final Duration LEAVE_WITHIN = Duration.ofSeconds(2);
  private static final Duration RETURN_AFTER_SERVING_WITHIN = Duration.ofSeconds(2);
  // A restarted server is found on the channel's next reconnect attempt, after its back-off
  // (1 s, +-20%, growing 1.6x per failed attempt).
  private static final Duration RETURN_AFTER_RESTART_WITHIN = Duration.ofSeconds(5);
  /** Consecutive calls that must all avoid a backend to call it out of rotation. */
  private static final int OUT_OF_ROTATION_STREAK = 30;

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<Backend> backends = new ArrayList<>();
  private ManagedChannel channel;

  @BeforeEach
  void startBackends() throws IOException {
    for (String name : List.of("upstream-a", "upstream-b", "upstream-c")) {
      Backend backend = new Backend(name);
      backend.start(0);
      backends.add(backend);
    }
  }

  @AfterEach
  void stopEverything() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Backend backend : backends) {
      backend.stop();
    }
    scheduler.shutdownNow();
  }

  @Test
  void roundRobinSpreadsCallsEvenly() {
    connect(UpstreamServiceConfig.newBuilder().policy(LbPolicy.ROUND_ROBIN).build());
    awaitAllInRotation();

    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      counts.merge(complete(), 1, Integer::sum);
    }

    assertThat(counts).containsOnlyKeys("upstream-a", "upstream-b", "upstream-c");
    assertThat(counts.values()).allSatisfy(count -> assertThat(count).isBetween(90, 110));
  }

  @Test
  void leastOutstandingSendsFewerCallsToATenTimesSlowerBackend() throws InterruptedException {
    backends.forEach(backend -> backend.delayMillis.set(10));
    backends.get(2).delayMillis.set(100);
    connect(UpstreamServiceConfig.newBuilder().policy(LbPolicy.LEAST_OUTSTANDING).build());
    awaitAllInRotation();

    Map<String, Integer> counts = completeConcurrently(300, 12);

    int slow = counts.getOrDefault("upstream-c", 0);
    int fastA = counts.getOrDefault("upstream-a", 0);
    int fastB = counts.getOrDefault("upstream-b", 0);
    // Round robin would give each 100; counting calls in flight moves most of the slow share
    // to the fast backends.
    assertThat(slow).as("calls per backend: %s", counts).isLessThan(60);
    assertThat(fastA).as("calls per backend: %s", counts).isGreaterThan(2 * slow);
    assertThat(fastB).as("calls per backend: %s", counts).isGreaterThan(2 * slow);
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_OUTSTANDING"})
  void aNotServingBackendLeavesRotationWithinTwoSecondsAndReturnsWhenServing(LbPolicy policy) {
    connect(UpstreamServiceConfig.newBuilder().policy(policy).build());
    awaitAllInRotation();
    Backend backend = backends.get(1);

    long changed = System.nanoTime();
    backend.health.setStatus(UpstreamServiceConfig.HEALTH_CHECK_SERVICE_NAME,
        ServingStatus.NOT_SERVING);
    Duration left = awaitOutOfRotation(backend.name, changed);

    assertThat(left).isLessThanOrEqualTo(LEAVE_WITHIN);

    changed = System.nanoTime();
    backend.health.setStatus(UpstreamServiceConfig.HEALTH_CHECK_SERVICE_NAME,
        ServingStatus.SERVING);
    assertThat(awaitInRotation(backend.name, changed, RETURN_AFTER_SERVING_WITHIN))
        .isLessThanOrEqualTo(RETURN_AFTER_SERVING_WITHIN);
  }

  @ParameterizedTest
  @EnumSource(value = LbPolicy.class, names = {"ROUND_ROBIN", "LEAST_OUTSTANDING"})
  void aStoppedBackendLeavesRotationWithinTwoSecondsAndReturnsWhenRestarted(LbPolicy policy)
      throws Exception {
    connect(UpstreamServiceConfig.newBuilder().policy(policy).build());
    awaitAllInRotation();
    Backend backend = backends.get(1);

    long stopped = System.nanoTime();
    backend.stop();
    Duration left = awaitOutOfRotation(backend.name, stopped);

    assertThat(left).isLessThanOrEqualTo(LEAVE_WITHIN);

    backend.start(backend.port);
    long restarted = System.nanoTime();
    assertThat(awaitInRotation(backend.name, restarted, RETURN_AFTER_RESTART_WITHIN))
        .isLessThanOrEqualTo(RETURN_AFTER_RESTART_WITHIN);
  }

  @Test
  void withoutHealthCheckingANotServingBackendKeepsGettingCalls() {
    connect(UpstreamServiceConfig.newBuilder()
        .policy(LbPolicy.LEAST_OUTSTANDING).healthCheck(false).build());
    awaitAllInRotation();
    Backend backend = backends.get(1);

    backend.health.setStatus(UpstreamServiceConfig.HEALTH_CHECK_SERVICE_NAME,
        ServingStatus.NOT_SERVING);

    // The control for the tests above: only the health check takes a backend out.
    assertThat(awaitInRotation(backend.name, System.nanoTime(), Duration.ofSeconds(2)))
        .isLessThanOrEqualTo(Duration.ofSeconds(2));
  }

  private void connect(UpstreamServiceConfig config) {
    List<String> hostPorts = backends.stream().map(Backend::hostPort).toList();
    channel = Grpc.newChannelBuilder(
            StaticNameResolverProvider.target(hostPorts), InsecureChannelCredentials.create())
        .defaultServiceConfig(config.toServiceConfig())
        .build();
  }

  /** Calls one backend through the channel and returns the name of the backend that answered. */
  private String complete() {
    return LlmProxyGrpc.newBlockingStub(channel)
        .withWaitForReady()
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .complete(CompletionRequest.newBuilder().setPrompt("hello").build())
        .getText();
  }

  /** Waits until one window of calls has reached every backend. */
  private void awaitAllInRotation() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Deque<String> window = new ArrayDeque<>();
    while (System.nanoTime() < deadline) {
      window.addLast(complete());
      if (window.size() > OUT_OF_ROTATION_STREAK) {
        window.removeFirst();
      }
      if (new HashSet<>(window).size() == backends.size()) {
        return;
      }
    }
    throw new AssertionError("not every backend was reached within 10 s: " + window);
  }

  /**
   * Calls until {@value #OUT_OF_ROTATION_STREAK} calls in a row succeed without reaching the
   * backend, and returns how long after {@code since} that streak began. Failed calls (to a backend
   * going away) break a streak.
   */
  private Duration awaitOutOfRotation(String name, long since) {
    long deadline = since + LEAVE_WITHIN.toNanos() + TimeUnit.SECONDS.toNanos(3);
    int streak = 0;
    long streakStart = 0;
    while (System.nanoTime() < deadline) {
      long callStart = System.nanoTime();
      String answer;
      try {
        answer = complete();
      } catch (StatusRuntimeException e) {
        answer = null;
      }
      if (answer == null || answer.equals(name)) {
        streak = 0;
        continue;
      }
      if (streak++ == 0) {
        streakStart = callStart;
      }
      if (streak == OUT_OF_ROTATION_STREAK) {
        return Duration.ofNanos(streakStart - since);
      }
    }
    throw new AssertionError(name + " was still in rotation "
        + Duration.ofNanos(deadline - since).toMillis() + " ms after it went away");
  }

  /** Calls until the backend answers one; returns how long after {@code since} that took. */
  private Duration awaitInRotation(String name, long since, Duration bound) {
    long deadline = since + bound.toNanos() + TimeUnit.SECONDS.toNanos(3);
    while (System.nanoTime() < deadline) {
      if (name.equals(complete())) {
        return Duration.ofNanos(System.nanoTime() - since);
      }
    }
    throw new AssertionError(name + " did not return within "
        + Duration.ofNanos(deadline - since).toMillis() + " ms");
  }

  /** Runs {@code calls} calls with at most {@code concurrency} in flight; counts per backend. */
  private Map<String, Integer> completeConcurrently(int calls, int concurrency)
      throws InterruptedException {
    Map<String, Integer> counts = new ConcurrentHashMap<>();
    AtomicInteger failures = new AtomicInteger();
    Semaphore inFlight = new Semaphore(concurrency);
    CountDownLatch done = new CountDownLatch(calls);
    LlmProxyGrpc.LlmProxyStub stub = LlmProxyGrpc.newStub(channel);
    for (int i = 0; i < calls; i++) {
      assertThat(inFlight.tryAcquire(10, TimeUnit.SECONDS)).as("a call slot freed").isTrue();
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).complete(
          CompletionRequest.newBuilder().setPrompt("hello " + i).build(),
          new StreamObserver<>() {
            @Override
            public void onNext(Completion completion) {
              counts.merge(completion.getText(), 1, Integer::sum);
            }

            @Override
            public void onError(Throwable t) {
              failures.incrementAndGet();
              inFlight.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              inFlight.release();
              done.countDown();
            }
          });
    }
    assertThat(done.await(30, TimeUnit.SECONDS)).as("all calls finished").isTrue();
    assertThat(failures).hasValue(0);
    return counts;
  }

  /** A tiny upstream that answers every completion with its own name, after a set delay. */
  private final class Backend {
    final String name;
    final AtomicLong delayMillis = new AtomicLong();
    HealthStatusManager health;
    Server server;
    int port;

    Backend(String name) {
      this.name = name;
    }

    void start(int requestedPort) throws IOException {
      health = new HealthStatusManager();
      health.setStatus(UpstreamServiceConfig.HEALTH_CHECK_SERVICE_NAME, ServingStatus.SERVING);
      server = NettyServerBuilder
          .forAddress(new InetSocketAddress("127.0.0.1", requestedPort),
              InsecureServerCredentials.create())
          .directExecutor()
          .addService(new LlmProxyGrpc.LlmProxyImplBase() {
            @Override
            public void complete(CompletionRequest request, StreamObserver<Completion> response) {
              Completion completion = Completion.newBuilder()
                  .setId(name + "-1").setModel(request.getModel()).setText(name).build();
              Runnable answer = () -> {
                response.onNext(completion);
                response.onCompleted();
              };
              long delay = delayMillis.get();
              if (delay == 0) {
                answer.run();
              } else {
                scheduler.schedule(answer, delay, TimeUnit.MILLISECONDS);
              }
            }
          })
          .addService(health.getHealthService())
          .build()
          .start();
      port = server.getPort();
    }

    void stop() throws InterruptedException {
      if (server != null && !server.isTerminated()) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }

    String hostPort() {
      return "127.0.0.1:" + port;
    }
  }
}
