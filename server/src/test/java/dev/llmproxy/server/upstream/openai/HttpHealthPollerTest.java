package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.upstream.openai.FakeOpenAiServer.Answer;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class HttpHealthPollerTest {
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<ServingStatus> published = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  private HttpHealthPoller poller(FakeOpenAiServer server, int threshold) {
    return new HttpHealthPoller(HttpClient.newHttpClient(), URI.create(server.baseUrl() + "/health"), null,
        Duration.ofMillis(20), Duration.ofSeconds(2), threshold, scheduler, published::add);
  }

  @Test
  void takesAnUpstreamOutOnlyAfterThresholdFailuresInARowAndBackAfterOneSuccess() throws Exception {
    try (FakeOpenAiServer server = new FakeOpenAiServer(seen -> Answer.stream());
         HttpHealthPoller poller = poller(server, 3)) {
      poller.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> published.contains(ServingStatus.SERVING));
      int pollsBefore = server.healthPolls();
      server.healthStatus = 503;
      await().atMost(Duration.ofSeconds(10)).until(() -> published.contains(ServingStatus.NOT_SERVING));
      assertThat(server.healthPolls() - pollsBefore).isGreaterThanOrEqualTo(3);
      server.healthStatus = 200;
      await().atMost(Duration.ofSeconds(10)).until(() -> published.get(published.size() - 1) == ServingStatus.SERVING);
    }
  }

  @Test
  void aFailingFirstPollIsNotServingAtOnce() throws Exception {
    try (FakeOpenAiServer server = new FakeOpenAiServer(seen -> Answer.stream());
         HttpHealthPoller poller = poller(server, 3)) {
      server.healthStatus = 503;
      poller.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> !published.isEmpty());
      assertThat(published.get(0)).isEqualTo(ServingStatus.NOT_SERVING);
    }
  }
}
