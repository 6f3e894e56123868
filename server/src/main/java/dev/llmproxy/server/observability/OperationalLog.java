package dev.llmproxy.server.observability;

import dev.llmproxy.server.config.ObservabilityConfig;
import java.io.OutputStream;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * Points java.util.logging (which the proxy, grpc-java, Netty and, through slf4j-jdk14, Lettuce
 * log to) at one handler with the configured level and {@link OneLineFormatter}. Called once, at
 * the wiring point, before the proxy starts.
 */
public final class OperationalLog {
  private OperationalLog() {}

  /** Replaces the root logger's handlers with one that writes {@code config}'s format to {@code out}. */
  public static void install(ObservabilityConfig.Log config, OutputStream out) {
    Level level = level(config.level());
    Handler handler = new StreamHandler(out, new OneLineFormatter("json".equals(config.format()))) {
      @Override
      public synchronized void publish(java.util.logging.LogRecord record) {
        super.publish(record);
        flush(); // a line is visible when it is logged, not when a buffer fills
      }
    };
    handler.setLevel(level);
    Logger root = LogManager.getLogManager().getLogger("");
    for (Handler old : root.getHandlers()) {
      root.removeHandler(old);
    }
    root.addHandler(handler);
    root.setLevel(level);
  }

  static Level level(String name) {
    return switch (name) {
      case "error" -> Level.SEVERE;
      case "warn" -> Level.WARNING;
      case "debug" -> Level.FINE;
      default -> Level.INFO;
    };
  }
}
