package dev.llmproxy.server.observability;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;

/**
 * One JSON line per call, written when the call closes:
 * <pre>{"ts":"2026-11-24T17:41:00.123Z","method":"StreamComplete","route":"chat","upstream":"sim-1",
 * "key_id":"team-a","cache":"miss","status":"OK","ttft_ms":12.3,"duration_ms":456.7,"tokens":64,
 * "request_id":"5f0c…","model":"llama-3-70b","client":"10.1.2.3:50412","prompt_tokens":12,
 * "completion_tokens":64}</pre>
 * {@code model} is the model the client asked for (bounded in length, escaped); the token counts
 * are the answer's usage, {@code null} when it carried none.
 * It carries only what {@link CallStats} holds: names from the config and closed sets, times and
 * counts. Prompts, completions, API keys and headers are never seen here, so they cannot leak.
 * Lines go through an {@link AsyncLineWriter}: a slow terminal drops lines (counted in
 * {@code llmproxy.accesslog.dropped}) instead of slowing calls down.
 */
public final class AccessLog implements CallObserver, AutoCloseable {
  private final AsyncLineWriter writer;
  private final Clock clock;

  /** Writes to {@code out} from a thread of its own, keeping up to {@code capacity} lines queued. */
  public AccessLog(OutputStream out, int capacity, Clock clock, MeterRegistry registry) {
    this.writer = new AsyncLineWriter(out, capacity, "llmproxy-access-log");
    this.clock = Objects.requireNonNull(clock, "clock");
    FunctionCounter.builder("llmproxy.accesslog.dropped", writer, AsyncLineWriter::dropped)
        .description("Access-log lines dropped because the log output could not keep up")
        .register(registry);
  }

  @Override
  public void onClose(CallStats call) {
    writer.offer(format(call, clock.instant()));
  }

  static String format(CallStats call, Instant now) {
    StringBuilder line = new StringBuilder(256).append('{');
    field(line, "ts", now.toString()).append(',');
    field(line, "method", call.method()).append(',');
    field(line, "route", call.route()).append(',');
    field(line, "upstream", call.upstream()).append(',');
    field(line, "key_id", call.keyId()).append(',');
    field(line, "cache", call.cache()).append(',');
    field(line, "status", call.status().name()).append(',');
    long ttft = call.timeToFirstMessageNanos();
    line.append("\"ttft_ms\":").append(ttft >= 0 ? millis(ttft) : "null").append(',');
    line.append("\"duration_ms\":").append(millis(call.durationNanos())).append(',');
    line.append("\"tokens\":").append(call.tokens()).append(',');
    field(line, "request_id", call.requestId()).append(',');
    String model = call.requestModel();
    field(line, "model", model == null ? CallStats.NONE : model.length() > 128 ? model.substring(0, 128) : model)
        .append(',');
    field(line, "client", call.clientAddress()).append(',');
    line.append("\"prompt_tokens\":").append(count(call.promptTokens())).append(',');
    line.append("\"completion_tokens\":").append(count(call.completionTokens()));
    return line.append('}').toString();
  }

  private static String count(int tokens) {
    return tokens >= 0 ? String.valueOf(tokens) : "null";
  }

  private static String millis(long nanos) {
    return String.valueOf(Math.round(nanos / 1e3) / 1e3);
  }

  private static StringBuilder field(StringBuilder line, String name, String value) {
    return JsonText.field(line, name, value);
  }

  /** Writes the lines still queued and stops the writer. */
  @Override
  public void close() {
    writer.close();
  }
}
