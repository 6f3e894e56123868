package dev.llmproxy.server.observability;

import java.io.IOException;

/** The metrics endpoint could not listen where the config says; the message names that address. */
public final class MetricsPortException extends IOException {
  private static final long serialVersionUID = 1L;

  MetricsPortException(String host, int port, IOException cause) {
    super("metrics endpoint " + host + ":" + port + " (observability.metrics.port): "
        + (cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName()), cause);
  }
}
