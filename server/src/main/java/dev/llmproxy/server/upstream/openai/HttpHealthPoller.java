package dev.llmproxy.server.upstream.openai;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Polls one OpenAI-compatible upstream's health URL ({@code /health} by default) and publishes
 * the answer as a {@code grpc.health.v1} status: a 2xx makes it SERVING; {@code unhealthyThreshold}
 * failures in a row (503 while an engine loads its model, an error, no answer within the timeout)
 * make it NOT_SERVING, so that one poll answered late by a busy engine does not empty a route. The
 * first poll decides alone: a failure before any success is NOT_SERVING at once. One poll at a time,
 * {@code interval} after the previous one ended; the first at once.
 */
final class HttpHealthPoller implements AutoCloseable {
  private final HttpClient client;
  private final HttpRequest request;
  private final Duration interval;
  private final ScheduledExecutorService scheduler;
  private final Consumer<ServingStatus> publish;
  private final int unhealthyThreshold;
  private int failures; // polls run one at a time
  private boolean decided;
  private volatile boolean closed;
  private volatile ScheduledFuture<?> next;

  /**
   * @param authorization sent as {@code Authorization} (hosted APIs answer {@code /v1/models} only
   *     with a key), or {@code null}
   */
  HttpHealthPoller(HttpClient client, URI url, String authorization, Duration interval, Duration timeout,
      int unhealthyThreshold, ScheduledExecutorService scheduler, Consumer<ServingStatus> publish) {
    this.unhealthyThreshold = unhealthyThreshold;
    this.client = client;
    HttpRequest.Builder builder = HttpRequest.newBuilder(url).GET().timeout(timeout);
    if (authorization != null) {
      builder.header("authorization", authorization);
    }
    this.request = builder.build();
    this.interval = interval;
    this.scheduler = scheduler;
    this.publish = publish;
  }

  void start() {
    poll();
  }

  private void poll() {
    if (closed) {
      return;
    }
    client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
      boolean serving = failure == null && response.statusCode() / 100 == 2;
      failures = serving ? 0 : failures + 1;
      if (!closed && (serving || failures >= unhealthyThreshold || !decided)) {
        decided = true;
        publish.accept(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      }
      schedule();
    });
  }

  private void schedule() {
    if (closed) {
      return;
    }
    try {
      next = scheduler.schedule(this::poll, interval.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException shuttingDown) {
      // closing
    }
  }

  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> pending = next;
    if (pending != null) {
      pending.cancel(false);
    }
  }
}
