package dev.llmproxy.server.upstream.openai;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One GET at a time to one engine URL, {@code interval} after the previous one ended (the first at
 * once), each outcome handed to {@code ended}: what the health poller and the metrics scraper share.
 * Nothing is handed over once closed, and a failing {@code ended} does not stop the requests.
 *
 * @param <T> the body type
 */
final class PeriodicGet<T> implements AutoCloseable {
  private static final Logger log = Logger.getLogger(PeriodicGet.class.getName());

  private final HttpClient client;
  private final HttpRequest request;
  private final HttpResponse.BodyHandler<T> body;
  private final Duration interval;
  private final ScheduledExecutorService scheduler;
  private final Executor endedOn;
  private final BiConsumer<HttpResponse<T>, Throwable> ended;
  private volatile boolean closed;
  private volatile ScheduledFuture<?> next;

  /**
   * @param endedOn where {@code ended} runs: the scheduler to keep work off the HTTP client's
   *     selector thread, or a direct executor for work that is trivial
   */
  PeriodicGet(HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> body, Duration interval,
      ScheduledExecutorService scheduler, Executor endedOn, BiConsumer<HttpResponse<T>, Throwable> ended) {
    this.client = client;
    this.request = request;
    this.body = body;
    this.interval = interval;
    this.scheduler = scheduler;
    this.endedOn = endedOn;
    this.ended = ended;
  }

  /** A GET of {@code url} with a timeout and, when not null, an {@code Authorization} header. */
  static HttpRequest.Builder get(URI url, String authorization, Duration timeout) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(url).GET().timeout(timeout);
    if (authorization != null) {
      builder.header("authorization", authorization);
    }
    return builder;
  }

  URI uri() {
    return request.uri();
  }

  void start() {
    send();
  }

  private void send() {
    if (closed) {
      return;
    }
    CompletableFuture<HttpResponse<T>> response;
    try {
      response = client.sendAsync(request, body);
    } catch (RuntimeException e) {
      end(null, e);
      return;
    }
    response.whenCompleteAsync(this::end, endedOn).exceptionally(rejected -> {
      return null; // the executor shut down: the route is closing
    });
  }

  private void end(HttpResponse<T> response, Throwable failure) {
    try {
      if (!closed) {
        ended.accept(response, failure);
      }
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "handling the answer of " + request.uri() + " failed", e);
    } finally {
      schedule();
    }
  }

  private void schedule() {
    if (closed) {
      return;
    }
    try {
      next = scheduler.schedule(this::send, interval.toNanos(), TimeUnit.NANOSECONDS);
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
