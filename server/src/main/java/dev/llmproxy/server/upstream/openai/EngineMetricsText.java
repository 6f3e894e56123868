package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.orca.LoadReport;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * An engine's load read from its Prometheus /metrics page (text exposition format 0.0.4; OpenMetrics
 * text reads the same), as an ORCA report in vLLM's named metrics, so that it is balanced on as a
 * per-call or out-of-band report would be:
 *
 *   num_requests_waiting  <- vllm:num_requests_waiting, sglang:num_queue_reqs          (summed)
 *   num_requests_running  <- vllm:num_requests_running, sglang:num_running_reqs        (summed)
 *   kv_cache_usage_perc   <- vllm:kv_cache_usage_perc, vllm:gpu_cache_usage_perc (vLLM before V1),
 *                            sglang:token_usage                                        (largest)
 *
 * Counts are summed over series (labels), because an engine with data-parallel ranks reports one
 * queue per rank (vLLM's engine="0", engine="1") and the endpoint's queue is all of them; the cache
 * use is the largest, as an engine is as full as its fullest rank. A line that does not parse, or a
 * value that is not a finite number >= 0, is skipped; other metrics are skipped unparsed beyond
 * their name. Without a queue depth or a cache use the page says nothing about load: no report.
 */
/** Reads an engine's load from its {@code /metrics} text. Stateless. */
final class EngineMetricsText {
  private enum Series { WAITING, RUNNING, KV_USAGE }

  private static final Map<String, Series> NAMES = Map.of(
      "vllm:num_requests_waiting", Series.WAITING,
      "sglang:num_queue_reqs", Series.WAITING,
      "vllm:num_requests_running", Series.RUNNING,
      "sglang:num_running_reqs", Series.RUNNING,
      "vllm:kv_cache_usage_perc", Series.KV_USAGE,
      "vllm:gpu_cache_usage_perc", Series.KV_USAGE,
      "sglang:token_usage", Series.KV_USAGE);

  /** The metric names read, for messages. */
  static final String KNOWN = "vllm:num_requests_waiting, vllm:kv_cache_usage_perc (or SGLang's "
      + "sglang:num_queue_reqs, sglang:token_usage)";

  private EngineMetricsText() {
  }

  /**
   * The load {@code text} reports, or {@code null} if it has neither a queue depth nor a cache
   * use of a known engine.
   */
  static LoadReport parse(CharSequence text) {
    double waiting = 0;
    double running = 0;
    double kvUsage = 0;
    boolean hasWaiting = false;
    boolean hasRunning = false;
    boolean hasKvUsage = false;
    int length = text.length();
    int start = 0;
    while (start < length) {
      int end = start;
      while (end < length && text.charAt(end) != '\n') {
        end++;
      }
      Sample sample = sample(text, start, end);
      start = end + 1;
      if (sample == null) {
        continue;
      }
      switch (sample.series) {
        case WAITING -> {
          waiting += sample.value;
          hasWaiting = true;
        }
        case RUNNING -> {
          running += sample.value;
          hasRunning = true;
        }
        case KV_USAGE -> {
          kvUsage = Math.max(kvUsage, Math.min(1, sample.value));
          hasKvUsage = true;
        }
        default -> throw new AssertionError(sample.series);
      }
    }
    if (!hasWaiting && !hasKvUsage) {
      return null;
    }
    Map<String, Double> named = new LinkedHashMap<>();
    if (hasWaiting) {
      named.put(LoadReport.WAITING, waiting);
    }
    if (hasRunning) {
      named.put(LoadReport.RUNNING, running);
    }
    if (hasKvUsage) {
      named.put(LoadReport.KV_CACHE_USAGE, kvUsage);
    }
    return LoadReport.ofNamedMetrics(named);
  }

  private record Sample(Series series, double value) {
  }

  /** The known sample on line [start, end), or null (a comment, another metric, a malformed line). */
  private static Sample sample(CharSequence text, int start, int end) {
    int i = skipBlanks(text, start, end);
    int nameStart = i;
    while (i < end && !isBlank(text.charAt(i)) && text.charAt(i) != '{') {
      i++;
    }
    if (i == nameStart || text.charAt(nameStart) == '#') {
      return null;
    }
    Series series = NAMES.get(text.subSequence(nameStart, i).toString());
    if (series == null) {
      return null;
    }
    if (i < end && text.charAt(i) == '{') {
      i = afterLabels(text, i + 1, end);
      if (i < 0) {
        return null;
      }
    }
    int valueStart = skipBlanks(text, i, end);
    if (valueStart == i) {
      return null; // the name (or labels) must be followed by a blank
    }
    int valueEnd = valueStart;
    while (valueEnd < end && !isBlank(text.charAt(valueEnd))) {
      valueEnd++;
    }
    double value = number(text.subSequence(valueStart, valueEnd).toString());
    return Double.isFinite(value) && value >= 0 ? new Sample(series, value) : null;
  }

  /** The index after the '}' closing labels that start at {@code i}, or -1 if they do not close. */
  private static int afterLabels(CharSequence text, int i, int end) {
    boolean quoted = false;
    for (; i < end; i++) {
      char c = text.charAt(i);
      if (quoted && c == '\\') {
        i++; // an escaped character: \\, \" or \n
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == '}') {
        return i + 1;
      }
    }
    return -1;
  }

  /** A sample value: a Go float, NaN or ±Inf; NaN when it is none. */
  private static double number(String value) {
    if (value.isEmpty() || value.length() > 64) {
      return Double.NaN;
    }
    char last = value.charAt(value.length() - 1);
    if (!(Character.isDigit(last) || last == '.' || value.endsWith("Inf") || value.equals("NaN"))) {
      return Double.NaN; // Java would read "1d", "1f" and hex floats
    }
    try {
      return switch (value) {
        case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
        case "-Inf" -> Double.NEGATIVE_INFINITY;
        default -> value.indexOf('x') >= 0 || value.indexOf('X') >= 0 ? Double.NaN : Double.parseDouble(value);
      };
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static int skipBlanks(CharSequence text, int i, int end) {
    while (i < end && isBlank(text.charAt(i))) {
      i++;
    }
    return i;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
  }
}
