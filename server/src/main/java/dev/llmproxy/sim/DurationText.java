package dev.llmproxy.sim;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Human-friendly durations for flags and messages: {@code 0}, {@code 250us}, {@code 200ms}, {@code 1.5s}, {@code 2m}. */
final class DurationText {
  private static final Pattern DURATION = Pattern.compile("(-?\\d+(?:\\.\\d+)?)(ns|us|ms|s|m)");

  private DurationText() {}

  /**
   * Parses {@code <number><unit>} with unit ns, us, ms, s or m, or a bare {@code 0}.
   *
   * @throws IllegalArgumentException naming the text and the expected form
   */
  static Duration parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = DURATION.matcher(s);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "'" + text + "' (expected: a duration like 200ms, 1.5s or 0)");
    }
    long unitNanos = switch (m.group(2)) {
      case "ns" -> 1L;
      case "us" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      default -> 60_000_000_000L;
    };
    double nanos = Double.parseDouble(m.group(1)) * unitNanos;
    if (Math.abs(nanos) > Long.MAX_VALUE / 2.0) {
      throw new IllegalArgumentException("'" + text + "' (expected: a duration below 100 years)");
    }
    return Duration.ofNanos(Math.round(nanos));
  }

  /** Formats in the largest unit that keeps it exact: {@code 0}, {@code 1500ms}, {@code 2s}, {@code 7ns}. */
  static String format(Duration d) {
    long nanos;
    try {
      nanos = d.toNanos();
    } catch (ArithmeticException e) {
      return d.toString();
    }
    if (nanos == 0) {
      return "0";
    }
    if (nanos % 1_000_000_000L == 0) {
      return nanos / 1_000_000_000L + "s";
    }
    if (nanos % 1_000_000L == 0) {
      return nanos / 1_000_000L + "ms";
    }
    if (nanos % 1_000L == 0) {
      return nanos / 1_000L + "us";
    }
    return nanos + "ns";
  }
}
