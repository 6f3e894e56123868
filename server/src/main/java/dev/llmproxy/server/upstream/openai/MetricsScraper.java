package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.server.observability.ThrottledLog;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * Scrapes one OpenAI-compatible engine's Prometheus page ({@code /metrics}) for its load, every
 * {@code interval} after the previous scrape ended (the first at once), and keeps the last load read
 * ({@link EngineMetricsText}). A scrape that fails — not a 200, a timeout, a body over
 * {@value #MAX_BODY_BYTES} bytes, no known series — leaves no load ({@link #latest()} is null until
 * one succeeds again, and nothing new is reported, so the balancer counts the last report until it
 * ages out and then goes by calls in flight) and is logged at most once a minute, and once when
 * scrapes work again. The body is parsed on {@code scheduler}, never on the HTTP client's selector
 * thread.
 */
final class MetricsScraper implements AutoCloseable {
  private static final Logger log = Logger.getLogger(MetricsScraper.class.getName());
  /** vLLM's page is tens of kilobytes (histograms per model); far more is not a metrics page. */
  static final int MAX_BODY_BYTES = 4 << 20;
  private static final Duration LOG_INTERVAL = Duration.ofMinutes(1);

  private final PeriodicGet<byte[]> scrapes;
  private final String name;
  private final int maxBodyBytes;
  private final ThrottledLog failures;
  private volatile LoadReport latest;
  private volatile boolean failing;

  /**
   * @param authorization sent as {@code Authorization}, or {@code null}
   * @param name names the engine in logs
   */
  MetricsScraper(HttpClient client, URI url, String authorization, Duration interval, Duration timeout,
      ScheduledExecutorService scheduler, String name) {
    this(client, url, authorization, interval, timeout, scheduler, name, MAX_BODY_BYTES, System::nanoTime);
  }

  MetricsScraper(HttpClient client, URI url, String authorization, Duration interval, Duration timeout,
      ScheduledExecutorService scheduler, String name, int maxBodyBytes, LongSupplier nanoTime) {
    this.name = name;
    this.maxBodyBytes = maxBodyBytes;
    this.failures = new ThrottledLog(System.getLogger(MetricsScraper.class.getName()), LOG_INTERVAL, nanoTime);
    this.scrapes = new PeriodicGet<>(client,
        PeriodicGet.get(url, authorization, timeout).header("accept", "text/plain;version=0.0.4").build(),
        this::body, interval, scheduler, scheduler, this::ended);
  }

  /** The load of the last scrape, or {@code null} if it failed or none has ended yet. */
  LoadReport latest() {
    return latest;
  }

  void start() {
    scrapes.start();
  }

  private void ended(HttpResponse<byte[]> response, Throwable failure) {
    String problem;
    LoadReport report = null;
    if (failure != null) {
      problem = describe(failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure);
    } else if (response.statusCode() != 200) {
      problem = "HTTP " + response.statusCode();
    } else {
      report = EngineMetricsText.parse(StandardCharsets.UTF_8.decode(ByteBuffer.wrap(response.body())));
      problem = report == null ? "none of " + EngineMetricsText.KNOWN + " in it" : null;
    }
    latest = report;
    if (problem != null) {
      failing = true;
      failures.warn("upstream " + name + ": " + scrapes.uri() + " gives no load (" + problem
          + "); balanced on calls in flight once its last report ages out (logged at most once a minute)");
    } else if (failing) {
      failing = false;
      log.info("upstream " + name + ": " + scrapes.uri() + " gives its load again");
    }
  }

  private static String describe(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof HttpTimeoutException) {
        return "no answer within the timeout";
      }
      if (cause instanceof BodyTooLarge) {
        return cause.getMessage();
      }
    }
    String message = failure.getMessage();
    return failure.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  @Override
  public void close() {
    scrapes.close();
    latest = null;
  }

  private HttpResponse.BodySubscriber<byte[]> body(HttpResponse.ResponseInfo info) {
    return info.statusCode() == 200 ? new BoundedBody(maxBodyBytes)
        : HttpResponse.BodySubscribers.replacing(new byte[0]);
  }

  private static final class BodyTooLarge extends RuntimeException {
    BodyTooLarge(int max) {
      super("a body larger than " + max + " bytes", null, false, false);
    }
  }

  /** Collects a body of at most {@code max} bytes; a larger one is cancelled and fails. */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final int max;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private Flow.Subscription subscription;

    BoundedBody(int max) {
      this.max = max;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        if (bytes.size() + buffer.remaining() > max) {
          subscription.cancel();
          result.completeExceptionally(new BodyTooLarge(max));
          return;
        }
        byte[] chunk = new byte[buffer.remaining()];
        buffer.get(chunk);
        bytes.writeBytes(chunk);
      }
    }

    @Override
    public void onError(Throwable failure) {
      result.completeExceptionally(failure);
    }

    @Override
    public void onComplete() {
      result.complete(bytes.toByteArray());
    }
  }
}
