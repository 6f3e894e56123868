package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.llmproxy.orca.LoadReport;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class MetricsScraperTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String PAGE = "vllm:num_requests_waiting{model_name=\"m\"} 3.0\n"
      + "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.5\n";

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final CountDownLatch release = new CountDownLatch(1);
  private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
  private final Logger logger = Logger.getLogger(MetricsScraper.class.getName());
  private final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        warnings.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  private final AtomicInteger scrapes = new AtomicInteger();
  private volatile int status = 200;
  private volatile String body = PAGE;
  private volatile boolean hang;
  private HttpServer server;
  private MetricsScraper scraper;

  @BeforeEach
  void start() throws Exception {
    logger.addHandler(capture);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/metrics", exchange -> {
      scrapes.incrementAndGet();
      if (hang) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      } catch (java.io.IOException clientLeft) {
        // the scraper gave up on a body too large
      }
    });
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    scraper = new MetricsScraper(HttpClient.newHttpClient(),
        URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics"), null, Duration.ofMillis(20),
        Duration.ofMillis(500), scheduler, "engine-a", 1024, System::nanoTime);
    scraper.start();
  }

  @AfterEach
  void stop() {
    logger.removeHandler(capture);
    scraper.close();
    release.countDown();
    server.stop(0);
    scheduler.shutdownNow();
  }

  @Test
  void keepsTheLoadOfTheLastGoodScrape() {
    await().atMost(WAIT).until(() -> scraper.latest() != null);

    assertThat(scraper.latest().named(LoadReport.WAITING)).hasValue(3);
    body = PAGE.replace("3.0", "5.0");
    await().atMost(WAIT).until(() -> scraper.latest().named(LoadReport.WAITING).getAsDouble() == 5);
  }

  @Test
  void anErrorStatusLeavesNoLoadUntilTheEngineAnswersAgainAndIsLoggedOnce() {
    await().atMost(WAIT).until(() -> scraper.latest() != null);

    status = 404;
    body = "404 page not found";
    await().atMost(WAIT).until(() -> scraper.latest() == null);
    await().atMost(WAIT).until(() -> warnings.size() == 1);
    int before = requestsSoFar();
    await().atMost(WAIT).until(() -> requestsSoFar() > before + 3); // several more failures ...
    assertThat(warnings).hasSize(1); // ... still one line
    assertThat(warnings.get(0).getMessage()).contains("upstream engine-a", "/metrics", "HTTP 404",
        "balanced on calls in flight");

    status = 200;
    body = PAGE;
    await().atMost(WAIT).until(() -> scraper.latest() != null);
  }

  @Test
  void aPageWithoutKnownSeriesGivesNoLoad() {
    await().atMost(WAIT).until(() -> scraper.latest() != null);

    body = "process_cpu_seconds_total 12.5\n";

    await().atMost(WAIT).until(() -> scraper.latest() == null);
    await().atMost(WAIT).until(() -> !warnings.isEmpty());
    assertThat(warnings.get(0).getMessage()).contains("none of vllm:num_requests_waiting");
  }

  @Test
  void aBodyOverTheLimitGivesNoLoad() {
    await().atMost(WAIT).until(() -> scraper.latest() != null);

    body = PAGE + "#".repeat(4096) + "\n";

    await().atMost(WAIT).until(() -> scraper.latest() == null);
    await().atMost(WAIT).until(() -> !warnings.isEmpty());
    assertThat(warnings.get(0).getMessage()).contains("larger than 1024 bytes");
  }

  @Test
  void anEngineThatDoesNotAnswerInTimeGivesNoLoadAndScrapingGoesOn() {
    await().atMost(WAIT).until(() -> scraper.latest() != null);

    hang = true;

    await().atMost(WAIT).until(() -> scraper.latest() == null);
    await().atMost(WAIT).until(() -> !warnings.isEmpty());
    assertThat(warnings.get(0).getMessage()).contains("no answer within the timeout");
    hang = false;
    release.countDown();
    await().atMost(WAIT).until(() -> scraper.latest() != null);
  }

  private int requestsSoFar() {
    return scrapes.get();
  }
}
