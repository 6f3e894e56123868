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
 * log to) at one handler with the configured level and {@link OneLineFormatter}. Installed once, at
 * the wiring point, before the proxy starts; a reload changes its level and format.
 */
public final class OperationalLog {
  private OperationalLog() {}

  /** Replaces the root logger's handlers with one that writes {@code config}'s format to {@code out}. */
  public static void install(ObservabilityConfig.Log config, OutputStream out) {
    Level level = level(config.level());
    Handler handler = new LineHandler(out, config);
    handler.setLevel(level);
    Logger root = LogManager.getLogManager().getLogger("");
    for (Handler old : root.getHandlers()) {
      root.removeHandler(old);
    }
    root.addHandler(handler);
    root.setLevel(level);
  }

  /**
   * Applies a reloaded level and format to the handler {@link #install} set up; does nothing when
   * it was not installed (the proxy embedded in a test or another program keeps its host's logging).
   */
  public static void reconfigure(ObservabilityConfig.Log config) {
    Logger root = LogManager.getLogManager().getLogger("");
    for (Handler handler : root.getHandlers()) {
      if (handler instanceof LineHandler line && !line.config.equals(config)) {
        line.apply(config);
        root.setLevel(level(config.level()));
      }
    }
  }

  /** One line per record, flushed at once so that a line is visible when it is logged. */
  private static final class LineHandler extends StreamHandler {
    private volatile ObservabilityConfig.Log config;

    LineHandler(OutputStream out, ObservabilityConfig.Log config) {
      super(out, new OneLineFormatter("json".equals(config.format())));
      this.config = config;
    }

    void apply(ObservabilityConfig.Log next) {
      setFormatter(new OneLineFormatter("json".equals(next.format())));
      setLevel(level(next.level()));
      config = next;
    }

    @Override
    public synchronized void publish(java.util.logging.LogRecord record) {
      super.publish(record);
      flush();
    }
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
