package dev.llmproxy.sim.openai;

import static dev.llmproxy.sim.openai.OpenAiFixture.WAIT;
import static dev.llmproxy.sim.openai.OpenAiFixture.chat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Capacity, timing and crashes, over raw sockets that the test opens and reads itself. */
@Timeout(60)
class OpenAiSimulatedBackendCapacityE2ETest {
  private final List<Socket> sockets = new ArrayList<>();
  private OpenAiFixture sim;

  @AfterEach
  void stop() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  @Test
  void metricsShowRunningAndWaitingRequestsAndTheQueueDrainsInOrder() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-q")
        .withInterTokenLatency(Duration.ofMillis(50))
        .withMaxConcurrency(1));
    Socket running = stream("running", 1_000);
    // Recorded first, admitted a moment later: wait for the slot to be taken.
    assertThat(sim.backend.recorder().await(
        r -> r.started() == 1 && sim.backend.requestsRunning() == 1, WAIT)).isTrue();
    stream("waiting", 2);
    assertThat(sim.backend.recorder().await(
        r -> r.started() == 2 && sim.backend.requestsWaiting() == 1, WAIT)).isTrue();

    String metrics = sim.get("/metrics").body();

    assertThat(metrics).contains("vllm:num_requests_running{model_name=\"sim-q\"} 1.0\n")
        .contains("vllm:num_requests_waiting{model_name=\"sim-q\"} 1.0\n");
    assertThat(sim.backend.requestsRunning()).isEqualTo(1);
    assertThat(sim.backend.requestsWaiting()).isEqualTo(1);
    running.close();
    assertThat(sim.backend.recorder().await(r -> r.completed() == 1 && r.cancelled() == 1, WAIT))
        .as("%s", sim.backend.recorder()).isTrue();
  }

  @Test
  void firstTokenWaitsForTheTimeToFirstToken() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-t")
        .withTimeToFirstToken(Duration.ofMillis(200)));
    long sent = System.nanoTime();
    Socket socket = stream("slow start", 2);

    readUntil(socket.getInputStream(), "data: ");

    assertThat(Duration.ofNanos(System.nanoTime() - sent)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
  }

  @Test
  void holdsManySlowStreamsWithoutAThreadEach() throws Exception {
    int streams = 300;
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-many")
        .withInterTokenLatency(Duration.ofSeconds(1)));
    sim.get("/health"); // starts the event loops
    int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

    for (int i = 0; i < streams; i++) {
      stream("s" + i, 1_000);
    }
    assertThat(sim.backend.recorder().await(r -> r.inFlight() == streams, WAIT))
        .as("%s", sim.backend.recorder()).isTrue();
    int threadsDuring = ManagementFactory.getThreadMXBean().getThreadCount();

    assertThat(sim.backend.openConnections()).isEqualTo(streams + 1);
    assertThat(threadsDuring - threadsBefore).isLessThan(10);
  }

  @Test
  void closingTheBackendDropsEveryConnectionMidStream() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-crash")
        .withInterTokenLatency(Duration.ofMillis(20)));
    Socket a = stream("a", 1_000);
    Socket b = stream("b", 1_000);
    readUntil(a.getInputStream(), "data: ");
    readUntil(b.getInputStream(), "data: ");

    sim.backend.close();

    assertThat(readToEnd(a.getInputStream())).doesNotContain("[DONE]").doesNotEndWith("0\r\n\r\n");
    assertThat(readToEnd(b.getInputStream())).doesNotContain("[DONE]");
    assertThat(sim.backend.recorder().calls()).extracting(RecordedCall::outcome)
        .containsOnly(RecordedCall.Outcome.CANCELLED);
    assertThat(sim.backend.openConnections()).isZero();
  }

  private Socket stream(String content, int maxTokens) throws IOException {
    Socket socket = new Socket();
    sockets.add(socket);
    socket.connect(new InetSocketAddress("127.0.0.1", sim.backend.port()), (int) WAIT.toMillis());
    socket.setSoTimeout((int) WAIT.toMillis());
    byte[] body = chat(content, maxTokens, "\"stream\":true").getBytes(StandardCharsets.UTF_8);
    socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().write(body);
    socket.getOutputStream().flush();
    return socket;
  }

  private static void readUntil(InputStream in, String marker) throws IOException {
    StringBuilder seen = new StringBuilder();
    while (seen.indexOf(marker) < 0) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before '" + marker + "': " + seen);
      }
      seen.append((char) b);
    }
  }

  /** Reads until the server closes the connection (EOF or reset). */
  private static String readToEnd(InputStream in) throws IOException {
    StringBuilder seen = new StringBuilder();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
      }
    } catch (java.net.SocketException reset) {
      // A reset is a close too.
    }
    return seen.toString();
  }
}
