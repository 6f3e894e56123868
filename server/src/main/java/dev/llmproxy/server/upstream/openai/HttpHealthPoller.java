package dev.llmproxy.server.upstream.openai;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
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
  private final PeriodicGet<Void> polls;
  private final Consumer<ServingStatus> publish;
  private final int unhealthyThreshold;
  private int failures; // polls run one at a time
  private boolean decided;

  /**
   * @param authorization sent as {@code Authorization} (hosted APIs answer {@code /v1/models} only
   *     with a key), or {@code null}
   */
  HttpHealthPoller(HttpClient client, URI url, String authorization, Duration interval, Duration timeout,
      int unhealthyThreshold, ScheduledExecutorService scheduler, Consumer<ServingStatus> publish) {
    this.unhealthyThreshold = unhealthyThreshold;
    this.publish = publish;
    this.polls = new PeriodicGet<>(client, PeriodicGet.get(url, authorization, timeout).build(),
        HttpResponse.BodyHandlers.discarding(), interval, scheduler, Runnable::run, this::answered);
  }

  void start() {
    polls.start();
  }

  private void answered(HttpResponse<Void> response, Throwable failure) {
    boolean serving = failure == null && response.statusCode() / 100 == 2;
    failures = serving ? 0 : failures + 1;
    if (serving || failures >= unhealthyThreshold || !decided) {
      decided = true;
      publish.accept(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    }
  }

  @Override
  public void close() {
    polls.close();
  }
}
