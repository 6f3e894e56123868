package dev.llmproxy.server.observability;

import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * Operational log records as one line each, plain or JSON, so that a log shipper never has to
 * join lines back together:
 * <pre>
 * 2026-12-07T07:41:00.123Z WARN dev.llmproxy.server.quota.QuotaServerInterceptor quota store failed: timeout
 * {"ts":"2026-12-07T07:41:00.123Z","level":"WARN","logger":"...","message":"quota store failed: timeout"}
 * </pre>
 * A throwable adds its class and message (and its causes'), never a multi-line stack trace: the
 * failures the proxy expects (an unreachable Redis, a refused upstream) say all there is in that.
 * Only SEVERE records, which are bugs, carry their top frames, still on the same line.
 */
public final class OneLineFormatter extends Formatter {
  private static final int SEVERE_FRAMES = 8;

  private final boolean json;

  /** @param json JSON objects instead of plain text */
  public OneLineFormatter(boolean json) {
    this.json = json;
  }

  @Override
  public String format(LogRecord record) {
    String level = levelName(record.getLevel());
    String message = flatten(formatMessage(record));
    String error = record.getThrown() == null ? null : describe(record.getThrown(), record.getLevel() == Level.SEVERE);
    StringBuilder line = new StringBuilder(160);
    String ts = Instant.ofEpochMilli(record.getMillis()).toString();
    if (json) {
      line.append('{');
      field(line, "ts", ts).append(',');
      field(line, "level", level).append(',');
      field(line, "logger", record.getLoggerName() == null ? "" : record.getLoggerName()).append(',');
      field(line, "message", message);
      if (error != null) {
        line.append(',');
        field(line, "error", error);
      }
      line.append('}');
    } else {
      line.append(ts).append(' ').append(level).append(' ').append(record.getLoggerName()).append(' ')
          .append(message);
      if (error != null) {
        line.append(" (").append(error).append(')');
      }
    }
    return line.append(System.lineSeparator()).toString();
  }

  /** java.util.logging's levels under the names operators know. */
  static String levelName(Level level) {
    int v = level.intValue();
    if (v >= Level.SEVERE.intValue()) {
      return "ERROR";
    }
    if (v >= Level.WARNING.intValue()) {
      return "WARN";
    }
    if (v >= Level.INFO.intValue()) {
      return "INFO";
    }
    return "DEBUG";
  }

  private static String describe(Throwable thrown, boolean withFrames) {
    StringBuilder out = new StringBuilder();
    Throwable t = thrown;
    for (int depth = 0; t != null && depth < 5; depth++, t = t.getCause() == t ? null : t.getCause()) {
      if (depth > 0) {
        out.append("; caused by ");
      }
      out.append(t.getClass().getName());
      if (t.getMessage() != null) {
        out.append(": ").append(flatten(t.getMessage()));
      }
    }
    if (withFrames) {
      StackTraceElement[] frames = thrown.getStackTrace();
      for (int i = 0; i < Math.min(SEVERE_FRAMES, frames.length); i++) {
        out.append(i == 0 ? " at " : " < ").append(frames[i]);
      }
    }
    return out.toString();
  }

  /** Line breaks inside a message become spaces: one event, one line. */
  private static String flatten(String text) {
    return text == null ? "" : text.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
  }

  private static StringBuilder field(StringBuilder line, String name, String value) {
    return JsonText.field(line, name, value);
  }
}
