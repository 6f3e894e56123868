package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class AccessLogTest {
  private static final Instant NOW = Instant.parse("2026-11-24T17:41:00.123Z");

  private static CallStats finished() {
    CallStats call = new CallStats("StreamComplete", true, 0);
    call.route = "chat";
    call.upstream = "sim-1";
    call.keyId = "team-a";
    call.cache = "miss";
    call.firstMessageNanos = 12_345_678;
    call.messages = 64;
    call.completionTokens = 64;
    call.promptTokens = 12;
    call.requestId = "req-1";
    call.requestModel = "llama-3";
    call.clientAddress = new java.net.InetSocketAddress("10.1.2.3", 50412);
    call.status = Status.Code.OK;
    call.endNanos = 456_789_000;
    return call;
  }

  @Test
  void formatsOneJsonLineWithEveryField() {
    assertThat(AccessLog.format(finished(), NOW)).isEqualTo("{\"ts\":\"2026-11-24T17:41:00.123Z\","
        + "\"method\":\"StreamComplete\",\"route\":\"chat\",\"upstream\":\"sim-1\",\"key_id\":\"team-a\","
        + "\"cache\":\"miss\",\"status\":\"OK\",\"ttft_ms\":12.346,\"duration_ms\":456.789,\"tokens\":64,"
        + "\"request_id\":\"req-1\",\"model\":\"llama-3\",\"client\":\"10.1.2.3:50412\",\"prompt_tokens\":12,"
        + "\"completion_tokens\":64}");
  }

  @Test
  void callWithoutAnAnswerHasNullTimeToFirstTokenAndNoneForWhatItNeverHad() {
    CallStats rejected = new CallStats("Complete", false, 0);
    rejected.status = Status.Code.NOT_FOUND;
    rejected.endNanos = 1_000_000;

    assertThat(AccessLog.format(rejected, NOW)).contains("\"route\":\"none\"", "\"upstream\":\"none\"",
        "\"key_id\":\"none\"", "\"cache\":\"none\"", "\"status\":\"NOT_FOUND\"", "\"ttft_ms\":null",
        "\"tokens\":0", "\"request_id\":\"none\"", "\"model\":\"none\"", "\"prompt_tokens\":null",
        "\"completion_tokens\":null");
  }

  @Test
  void escapesQuotesAndControlCharactersInNames() {
    CallStats call = finished();
    call.upstream = "a\"b\\c\n";

    assertThat(AccessLog.format(call, NOW)).contains("\"upstream\":\"a\\\"b\\\\c\\u000a\"");
  }

  @Test
  void writesOneLinePerClosedCall() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (AccessLog log = new AccessLog(out, 16, Clock.fixed(NOW, ZoneOffset.UTC), new SimpleMeterRegistry())) {
      log.onClose(finished());
      log.onClose(finished());
    }
    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l).startsWith("{\"ts\":").endsWith("}"));
  }

  @Test
  void dropsAndCountsLinesWhileTheOutputIsStuckInsteadOfBlockingTheCaller() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch writing = new CountDownLatch(1);
    OutputStream stuck = new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        writing.countDown();
        try {
          release.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (AccessLog log = new AccessLog(stuck, 4, Clock.fixed(NOW, ZoneOffset.UTC), registry)) {
      log.onClose(finished());
      assertThat(writing.await(5, TimeUnit.SECONDS)).isTrue(); // the writer thread is now stuck
      for (int i = 0; i < 100; i++) {
        log.onClose(finished()); // returns at once although nothing can be written
      }
      // The queue holds 4 lines; the other 96 were dropped and counted.
      assertThat(registry.get("llmproxy.accesslog.dropped").functionCounter().count()).isEqualTo(96);
      release.countDown();
    }
  }
}
