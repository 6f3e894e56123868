package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ConnectException;
import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class OneLineFormatterTest {
  private static LogRecord record(Level level, String message, Throwable thrown) {
    LogRecord record = new LogRecord(level, message);
    record.setInstant(Instant.parse("2026-12-07T07:41:00.123Z"));
    record.setLoggerName("dev.llmproxy.server.quota.redis.RedisQuotaStore");
    record.setThrown(thrown);
    return record;
  }

  @Test
  void plainLineHasTimeLevelLoggerAndMessage() {
    String line = new OneLineFormatter(false).format(record(Level.WARNING, "quota store failed: timeout", null));

    assertThat(line).isEqualTo("2026-12-07T07:41:00.123Z WARN dev.llmproxy.server.quota.redis.RedisQuotaStore "
        + "quota store failed: timeout" + System.lineSeparator());
  }

  @Test
  void anExpectedFailureIsOneLineWithItsCausesAndNoStackTrace() {
    IOException e = new IOException("Redis unreachable", new ConnectException("Connection refused\nby peer"));
    String line = new OneLineFormatter(false).format(record(Level.WARNING, "reconnecting\nsoon", e));

    assertThat(line.strip()).doesNotContain("\n").endsWith("reconnecting soon (java.io.IOException: Redis unreachable; "
        + "caused by java.net.ConnectException: Connection refused by peer)");
    assertThat(line).doesNotContain(" at ");
  }

  @Test
  void aBugKeepsItsTopFramesOnTheSameLine() {
    String line = new OneLineFormatter(false).format(record(Level.SEVERE, "unexpected", new IllegalStateException("x")));

    assertThat(line.strip()).doesNotContain("\n").contains("ERROR", "java.lang.IllegalStateException: x at ",
        "OneLineFormatterTest");
  }

  @Test
  void jsonLineIsOneEscapedObject() {
    String line = new OneLineFormatter(true).format(record(Level.INFO, "said \"hi\"\nthere",
        new IOException("gone")));

    assertThat(line).isEqualTo("{\"ts\":\"2026-12-07T07:41:00.123Z\",\"level\":\"INFO\","
        + "\"logger\":\"dev.llmproxy.server.quota.redis.RedisQuotaStore\",\"message\":\"said \\\"hi\\\" there\","
        + "\"error\":\"java.io.IOException: gone\"}" + System.lineSeparator());
  }
}
