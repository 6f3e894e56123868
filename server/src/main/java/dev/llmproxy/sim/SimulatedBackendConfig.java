package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Immutable settings of a {@link SimulatedBackend}: its name, its timing, its capacity and its faults.
 *
 * <p>Timing models an LLM server: the first token of a call is due {@code timeToFirstToken} after the
 * call is admitted, each further token {@code interTokenLatency} after the previous one, and every
 * one of these delays moves by a uniform random amount in {@code [-jitter, +jitter]} (never below 0),
 * drawn from {@code seed} (see there).
 *
 * <p>Capacity models a GPU server's batch and queue: at most {@code maxConcurrency} calls generate at
 * once ({@code 0}: unlimited); up to {@code maxQueue} further calls wait for a slot, first come first
 * served; calls beyond that fail at once with {@code RESOURCE_EXHAUSTED} (HTTP 429 in OpenAI
 * mode).
 *
 * <p>Start from {@link #defaults(String)} and change what you need with the withers:
 * <pre>{@code
 * SimulatedBackendConfig.defaults("sim-a")
 *     .withTimeToFirstToken(Duration.ofMillis(200))
 *     .withInterTokenLatency(Duration.ofMillis(20))
 *     .withMaxConcurrency(8);
 * }</pre>
 *
 * @param name the backend's name, sent in the {@code llmproxy-upstream} response header and used in
 *     completion ids; printable ASCII without spaces
 * @param timeToFirstToken delay from admission to the first token; {@code >= 0}
 * @param interTokenLatency delay between tokens; {@code >= 0}
 * @param jitter the most that each delay moves either way; {@code >= 0}
 * @param maxConcurrency calls that generate at once; {@code 0} for unlimited
 * @param maxQueue calls that may wait for a slot beyond {@code maxConcurrency}; {@code >= 0}
 * @param faults faults to inject
 * @param engine how prefill, the prefix cache and the batch size change the timing (see {@link EngineModel})
 * @param seed the seed of every random choice the backend makes (jitter, {@code failRate},
 *     {@code httpErrorRate}): call n of a backend draws from a generator seeded by {@code seed} and
 *     n, so two backends with the same seed and settings that see the same calls in the same order
 *     make the same choices
 */
public record SimulatedBackendConfig(
    String name,
    Duration timeToFirstToken,
    Duration interTokenLatency,
    Duration jitter,
    int maxConcurrency,
    int maxQueue,
    Faults faults,
    EngineModel engine,
    long seed) {

  /** The {@code maxQueue} of {@link #defaults(String)}: in effect unbounded, like a GPU server's queue. */
  public static final int UNBOUNDED_QUEUE = Integer.MAX_VALUE;

  /** Validates every field, with messages like {@code interTokenLatency: -1ms (expected: >= 0)}. */
  public SimulatedBackendConfig {
    requireNonNull(name, "name");
    if (name.isEmpty() || !name.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
      throw new IllegalArgumentException(
          "name: '" + name + "' (expected: printable ASCII without spaces, like sim-a)");
    }
    requireNonNegative("timeToFirstToken", timeToFirstToken);
    requireNonNegative("interTokenLatency", interTokenLatency);
    requireNonNegative("jitter", jitter);
    if (maxConcurrency < 0) {
      throw new IllegalArgumentException(
          "maxConcurrency: " + maxConcurrency + " (expected: >= 0, 0 for unlimited)");
    }
    if (maxQueue < 0) {
      throw new IllegalArgumentException("maxQueue: " + maxQueue + " (expected: >= 0)");
    }
    requireNonNull(faults, "faults");
    requireNonNull(engine, "engine");
  }

  /** Settings without an engine model: the plain configured TTFT and ITL. */
  public SimulatedBackendConfig(String name, Duration timeToFirstToken, Duration interTokenLatency, Duration jitter,
      int maxConcurrency, int maxQueue, Faults faults) {
    this(name, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, maxQueue, faults, EngineModel.none(), 0);
  }

  /** Returns a copy with another engine model. */
  public SimulatedBackendConfig withEngine(EngineModel newEngine) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, maxQueue, faults, newEngine, seed);
  }

  /** Returns a copy with another seed for the backend's random choices. */
  public SimulatedBackendConfig withSeed(long newSeed) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, maxQueue, faults, engine, newSeed);
  }

  /** No delays, unlimited concurrency, an unbounded queue, no faults, seed 0. */
  public static SimulatedBackendConfig defaults(String name) {
    return new SimulatedBackendConfig(
        name, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0, UNBOUNDED_QUEUE, Faults.none());
  }

  /** Returns a copy with another name. */
  public SimulatedBackendConfig withName(String newName) {
    return new SimulatedBackendConfig(
        newName, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, maxQueue, faults, engine, seed);
  }

  /** Returns a copy with another time to first token. */
  public SimulatedBackendConfig withTimeToFirstToken(Duration ttft) {
    return new SimulatedBackendConfig(
        name, ttft, interTokenLatency, jitter, maxConcurrency, maxQueue, faults, engine, seed);
  }

  /** Returns a copy with another inter-token latency. */
  public SimulatedBackendConfig withInterTokenLatency(Duration itl) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, itl, jitter, maxConcurrency, maxQueue, faults, engine, seed);
  }

  /** Returns a copy with another jitter. */
  public SimulatedBackendConfig withJitter(Duration newJitter) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, newJitter, maxConcurrency, maxQueue, faults, engine, seed);
  }

  /** Returns a copy with another concurrency cap ({@code 0}: unlimited). */
  public SimulatedBackendConfig withMaxConcurrency(int newMaxConcurrency) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, jitter, newMaxConcurrency, maxQueue, faults, engine, seed);
  }

  /** Returns a copy with another queue bound. */
  public SimulatedBackendConfig withMaxQueue(int newMaxQueue) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, newMaxQueue, faults, engine, seed);
  }

  /** Returns a copy with other faults. */
  public SimulatedBackendConfig withFaults(Faults newFaults) {
    return new SimulatedBackendConfig(
        name, timeToFirstToken, interTokenLatency, jitter, maxConcurrency, maxQueue, newFaults, engine, seed);
  }

  @Override
  public String toString() {
    return "SimulatedBackendConfig{name=" + name
        + ", timeToFirstToken=" + DurationText.format(timeToFirstToken)
        + ", interTokenLatency=" + DurationText.format(interTokenLatency)
        + ", jitter=" + DurationText.format(jitter)
        + ", maxConcurrency=" + (maxConcurrency == 0 ? "unlimited" : maxConcurrency)
        + ", maxQueue=" + (maxQueue == UNBOUNDED_QUEUE ? "unbounded" : maxQueue)
        + ", faults=" + faults + ", engine=" + engine + ", seed=" + seed + "}";
  }

  private static void requireNonNegative(String field, Duration value) {
    requireNonNull(value, field);
    if (value.isNegative()) {
      throw new IllegalArgumentException(
          field + ": " + DurationText.format(value) + " (expected: >= 0)");
    }
  }
}
