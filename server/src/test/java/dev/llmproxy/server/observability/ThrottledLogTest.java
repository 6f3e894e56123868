package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThrottledLogTest {
  @Test
  void logsAtMostOncePerIntervalAndCountsWhatItHeldBack() {
    AtomicLong nanos = new AtomicLong();
    ThrottledLog log = new ThrottledLog(System.getLogger("test"), Duration.ofSeconds(10), nanos::get);
    assertThat(log.warn("redis down")).isTrue();
    assertThat(log.warn("redis down")).isFalse();
    nanos.addAndGet(Duration.ofSeconds(9).toNanos());
    assertThat(log.warn("redis down")).isFalse();
    nanos.addAndGet(Duration.ofSeconds(1).toNanos());
    assertThat(log.warn("redis down")).isTrue();
    assertThat(log.warn("redis down")).isFalse();
  }
}
