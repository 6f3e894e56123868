package dev.llmproxy.sim.openai;

import static dev.llmproxy.sim.openai.OpenAiFixture.WAIT;
import static dev.llmproxy.sim.openai.OpenAiFixture.chat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackendConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cancellation and back-pressure over raw sockets, where the test controls reading and closing. */
@Timeout(60)
class OpenAiSimulatedBackendFlowControlE2ETest {
  private static final int HUGE = 1_000_000;

  private OpenAiFixture sim;

  @AfterEach
  void stop() {
    if (sim != null) {
      sim.close();
    }
  }

  @Test
  void clientClosingTheConnectionCancelsTheCallPromptly() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-c")
        .withInterTokenLatency(Duration.ofMillis(20)));
    long closedAt;
    try (Socket socket = connect(0)) {
      send(socket, chat("cancel me", 1_000, "\"stream\":true"));
      readUntil(socket.getInputStream(), "data: ");
      assertThat(sim.backend.recorder().lastCall().outcome()).isEqualTo(RecordedCall.Outcome.IN_FLIGHT);
      assertThat(sim.backend.openConnections()).isEqualTo(1);
      closedAt = System.nanoTime();
    }

    assertThat(sim.backend.recorder().await(r -> r.cancelled() == 1, WAIT)).isTrue();
    RecordedCall call = sim.backend.recorder().lastCall();
    assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.CANCELLED);
    assertThat(Duration.ofNanos(call.endNanos() - closedAt)).isLessThan(Duration.ofSeconds(2));
    assertThat(call.tokensSent()).isLessThan(1_000);
    assertThat(sim.backend.requestsRunning()).isZero();
    assertThat(waitFor(() -> sim.backend.openConnections() == 0)).isTrue();
  }

  @Test
  void clientThatStopsReadingHoldsGenerationBack() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-b"));
    try (Socket socket = connect(4096)) {
      send(socket, chat("never read", HUGE, "\"stream\":true"));
      assertThat(sim.backend.recorder().await(r -> r.started() == 1
          && r.lastCall().tokensSent() > 0, WAIT)).isTrue();

      int blockedAt = tokensOnceStable();

      RecordedCall call = sim.backend.recorder().lastCall();
      assertThat(blockedAt).isLessThan(HUGE / 10);
      assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.IN_FLIGHT);

      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[64 * 1024];
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (call.tokensSent() <= blockedAt && System.nanoTime() < deadline) {
        assertThat(in.read(buffer)).isPositive();
      }
      assertThat(call.tokensSent()).isGreaterThan(blockedAt);
    }
    assertThat(sim.backend.recorder().await(r -> r.cancelled() == 1, WAIT)).isTrue();
  }

  @Test
  void pipelinedRequestsOnOneConnectionAreAnsweredInOrder() throws Exception {
    sim = OpenAiFixture.start(SimulatedBackendConfig.defaults("sim-k")
        .withInterTokenLatency(Duration.ofMillis(5)));
    try (Socket socket = connect(0)) {
      send(socket, chat("first", 5, "\"stream\":true"));
      send(socket, chat("second", 3, ""));
      InputStream in = socket.getInputStream();

      readUntil(in, "data: [DONE]\n\n\r\n0\r\n\r\n");
      String second = readUntil(in, "\"total_tokens\":4}}");

      assertThat(second).startsWith("HTTP/1.1 200 OK\r\n").contains("llmproxy-upstream: sim-k\r\n");
    }
    assertThat(sim.backend.recorder().calls()).extracting(c -> c.request().getMessages(0).getContent())
        .containsExactly("first", "second");
  }

  /** Waits (bounded) until the latest call's token count stops growing for a while; returns it. */
  private int tokensOnceStable() throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      int seen = sim.backend.recorder().lastCall().tokensSent();
      boolean grew = sim.backend.recorder().await(
          r -> r.lastCall().tokensSent() != seen, Duration.ofMillis(300));
      if (!grew) {
        return seen;
      }
    }
    throw new AssertionError("generation never stopped: " + sim.backend.recorder());
  }

  private Socket connect(int receiveBuffer) throws IOException {
    Socket socket = new Socket();
    if (receiveBuffer > 0) {
      socket.setReceiveBufferSize(receiveBuffer);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", sim.backend.port()), (int) WAIT.toMillis());
    socket.setSoTimeout((int) WAIT.toMillis());
    return socket;
  }

  private static void send(Socket socket, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    OutputStream out = socket.getOutputStream();
    out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(bytes);
    out.flush();
  }

  private static String readUntil(InputStream in, String marker) throws IOException {
    StringBuilder seen = new StringBuilder();
    while (seen.indexOf(marker) < 0) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before '" + marker + "': " + seen);
      }
      seen.append((char) b);
    }
    return seen.toString();
  }

  private static boolean waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      LockSupport.parkNanos(2_000_000);
    }
    return true;
  }
}
