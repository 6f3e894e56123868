package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * Ejection of upstreams that fail, counting only failures that are the upstream's fault: a client's
 * cancel or deadline and answers about the request (INVALID_ARGUMENT and the like) never count.
 * After {@code consecutiveFailures} faults in a row an upstream is ejected for
 * {@code baseEjectionTime}, doubled for each ejection that follows soon after the last, up to
 * {@code maxEjectionTime}; at most {@code maxEjectionPercent} of the upstreams are ejected at once.
 * An upstream that answers RESOURCE_EXHAUSTED is busy, not broken: it is avoided for
 * {@code busyAvoidance} and not ejected.
 *
 * @param consecutiveFailures faults in a row that eject; 0 turns ejection off
 */
public record OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
    int maxEjectionPercent, Duration busyAvoidance) {
  static final Duration MAX_TIME = Duration.ofHours(1);

  public OutlierDetection {
    if (consecutiveFailures < 0 || consecutiveFailures > 1000) {
      throw ConfigException.invalid("outlier_detection.consecutive_failures", consecutiveFailures,
          "0 (off) to 1000");
    }
    ConfigNode.checked("outlier_detection.base_ejection_time", baseEjectionTime, Duration.ofMillis(1), MAX_TIME);
    ConfigNode.checked("outlier_detection.max_ejection_time", maxEjectionTime, baseEjectionTime, MAX_TIME);
    if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
      throw ConfigException.invalid("outlier_detection.max_ejection_percent", maxEjectionPercent, "0 to 100");
    }
    ConfigNode.checked("outlier_detection.busy_avoidance", busyAvoidance, Duration.ZERO, MAX_TIME);
  }

  public static OutlierDetection defaults() {
    return new OutlierDetection(5, Duration.ofSeconds(30), Duration.ofMinutes(5), 50, Duration.ofSeconds(1));
  }

  public boolean ejects() {
    return consecutiveFailures > 0 && maxEjectionPercent > 0;
  }

  /** Whether anything is tracked at all: ejection or busy avoidance. */
  public boolean enabled() {
    return ejects() || !busyAvoidance.isZero();
  }

  static OutlierDetection from(ConfigNode node) {
    OutlierDetection d = defaults();
    int failures = node.integer("consecutive_failures", d.consecutiveFailures(), 0, 1000);
    Duration base = node.duration("base_ejection_time", d.baseEjectionTime(), Duration.ofMillis(1), MAX_TIME);
    Duration max = node.duration("max_ejection_time", base.compareTo(d.maxEjectionTime()) > 0 ? base
        : d.maxEjectionTime(), base, MAX_TIME);
    int percent = node.integer("max_ejection_percent", d.maxEjectionPercent(), 0, 100);
    Duration busy = node.duration("busy_avoidance", d.busyAvoidance(), Duration.ZERO, MAX_TIME);
    node.rejectUnknownKeys();
    return new OutlierDetection(failures, base, max, percent, busy);
  }
}
