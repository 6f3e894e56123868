package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExponentialBackoffTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  @Test
  void growsByTheMultiplierUpToTheMaximumAndStartsOverOnReset() {
    ExponentialBackoff backoff = new ExponentialBackoff(Duration.ofSeconds(1), Duration.ofSeconds(4), 2, () -> 0);
    // nextDouble() of 0 is the low end of the jitter: 0.8 x the base delay.
    assertThat(backoff.nextDelayNanos()).isEqualTo(8 * SECOND / 10);
    assertThat(backoff.nextDelayNanos()).isEqualTo(16 * SECOND / 10);
    assertThat(backoff.nextDelayNanos()).isEqualTo(32 * SECOND / 10);
    assertThat(backoff.nextDelayNanos()).isEqualTo(32 * SECOND / 10); // capped at 4 s
    backoff.reset();
    assertThat(backoff.nextDelayNanos()).isEqualTo(8 * SECOND / 10);
  }

  @Test
  void jitterStaysWithinTwentyPercentOfTheBase() {
    ExponentialBackoff backoff = new ExponentialBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 1.6,
        new Random(7));
    for (int i = 0; i < 1000; i++) {
      assertThat(backoff.nextDelayNanos()).isBetween(8 * SECOND / 10, 12 * SECOND / 10);
    }
  }

  @Test
  void rejectsSettingsThatCannotBackOff() {
    assertThatThrownBy(() -> new ExponentialBackoff(Duration.ZERO, Duration.ofSeconds(1), 2, new Random()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: 0 < initial <= max");
    assertThatThrownBy(() -> new ExponentialBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 2, new Random()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ExponentialBackoff(Duration.ofSeconds(1), Duration.ofSeconds(2), 0.5, new Random()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
