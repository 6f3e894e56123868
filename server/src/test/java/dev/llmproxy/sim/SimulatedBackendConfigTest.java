package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SimulatedBackendConfigTest {
  private static final SimulatedBackendConfig DEFAULTS = SimulatedBackendConfig.defaults("sim-a");

  @Test
  void defaultsHaveNoDelaysUnlimitedConcurrencyAndNoFaults() {
    assertThat(DEFAULTS.name()).isEqualTo("sim-a");
    assertThat(DEFAULTS.timeToFirstToken()).isZero();
    assertThat(DEFAULTS.interTokenLatency()).isZero();
    assertThat(DEFAULTS.jitter()).isZero();
    assertThat(DEFAULTS.maxConcurrency()).isZero();
    assertThat(DEFAULTS.maxQueue()).isEqualTo(SimulatedBackendConfig.UNBOUNDED_QUEUE);
    assertThat(DEFAULTS.faults()).isEqualTo(Faults.none());
  }

  @Test
  void withersChangeOnlyTheirField() {
    SimulatedBackendConfig c = DEFAULTS
        .withTimeToFirstToken(Duration.ofMillis(200))
        .withInterTokenLatency(Duration.ofMillis(20))
        .withJitter(Duration.ofMillis(5))
        .withMaxConcurrency(8)
        .withMaxQueue(100)
        .withFaults(Faults.none().withStallAfterTokens(3));
    assertThat(c).isEqualTo(new SimulatedBackendConfig("sim-a", Duration.ofMillis(200),
        Duration.ofMillis(20), Duration.ofMillis(5), 8, 100,
        new Faults(0, Status.Code.UNAVAILABLE, -1, Status.Code.INTERNAL, 3)));
    assertThat(c.withName("sim-b").name()).isEqualTo("sim-b");
  }

  @Test
  void rejectsNegativeDurationsNamingFieldValueAndExpectation() {
    assertThatThrownBy(() -> DEFAULTS.withInterTokenLatency(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("interTokenLatency: -1ms (expected: >= 0)");
    assertThatThrownBy(() -> DEFAULTS.withTimeToFirstToken(Duration.ofSeconds(-2)))
        .hasMessage("timeToFirstToken: -2s (expected: >= 0)");
    assertThatThrownBy(() -> DEFAULTS.withJitter(Duration.ofNanos(-1500)))
        .hasMessage("jitter: -1500ns (expected: >= 0)");
    assertThatThrownBy(() -> DEFAULTS.withJitter(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("jitter");
  }

  @Test
  void rejectsBadCapacityAndNames() {
    assertThatThrownBy(() -> DEFAULTS.withMaxConcurrency(-1))
        .hasMessage("maxConcurrency: -1 (expected: >= 0, 0 for unlimited)");
    assertThatThrownBy(() -> DEFAULTS.withMaxQueue(-3))
        .hasMessage("maxQueue: -3 (expected: >= 0)");
    assertThatThrownBy(() -> SimulatedBackendConfig.defaults("sim a"))
        .hasMessage("name: 'sim a' (expected: printable ASCII without spaces, like sim-a)");
    assertThatThrownBy(() -> SimulatedBackendConfig.defaults(""))
        .hasMessageStartingWith("name: '' (expected:");
  }

  @Test
  void rejectsBadFaults() {
    assertThatThrownBy(() -> Faults.none().withFailRate(1.5, Status.Code.UNAVAILABLE))
        .hasMessage("failRate: 1.5 (expected: 0 to 1)");
    assertThatThrownBy(() -> Faults.none().withFailRate(Double.NaN, Status.Code.UNAVAILABLE))
        .hasMessage("failRate: NaN (expected: 0 to 1)");
    assertThatThrownBy(() -> Faults.none().withFailRate(0.5, Status.Code.OK))
        .hasMessage("failCode: OK (expected: an error code)");
    assertThatThrownBy(() -> Faults.none().withFailAfterTokens(-2, Status.Code.INTERNAL))
        .hasMessage("failAfterTokens: -2 (expected: >= 0, or -1 for off)");
    assertThatThrownBy(() -> Faults.none().withStallAfterTokens(-5))
        .hasMessage("stallAfterTokens: -5 (expected: >= 0, or -1 for off)");
  }

  @Test
  void durationsParseAndFormatInFriendlyUnits() {
    assertThat(DurationText.parse("200ms")).isEqualTo(Duration.ofMillis(200));
    assertThat(DurationText.parse("1s")).isEqualTo(Duration.ofSeconds(1));
    assertThat(DurationText.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(DurationText.parse("0")).isZero();
    assertThat(DurationText.parse("250us")).isEqualTo(Duration.ofNanos(250_000));
    assertThat(DurationText.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThatThrownBy(() -> DurationText.parse("fast"))
        .hasMessage("'fast' (expected: a duration like 200ms, 1.5s or 0)");
    assertThatThrownBy(() -> DurationText.parse("200"))
        .hasMessage("'200' (expected: a duration like 200ms, 1.5s or 0)");
    assertThat(DurationText.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(DurationText.format(Duration.ofSeconds(3))).isEqualTo("3s");
    assertThat(DurationText.format(Duration.ZERO)).isEqualTo("0");
  }
}
