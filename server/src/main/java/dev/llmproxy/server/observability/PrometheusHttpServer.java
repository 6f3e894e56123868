package dev.llmproxy.server.observability;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves a {@link PrometheusMeterRegistry} at {@code GET /metrics} with the JDK's HTTP server, on
 * one thread of its own: scrapes never run on the proxy's event loops. The text format by default,
 * OpenMetrics when the scraper asks for it in {@code Accept}.
 */
public final class PrometheusHttpServer implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private PrometheusHttpServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code host:port} (0: a free port) and starts serving.
   *
   * @throws MetricsPortException if the port cannot be bound, naming it
   */
  public static PrometheusHttpServer start(String host, int port, PrometheusMeterRegistry registry)
      throws IOException {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 16);
    } catch (IOException e) {
      throw new MetricsPortException(host, port, e);
    }
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "llmproxy-metrics-http");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/metrics", exchange -> scrape(exchange, registry));
    server.createContext("/", PrometheusHttpServer::notFound);
    server.start();
    return new PrometheusHttpServer(server, executor);
  }

  private static void scrape(HttpExchange exchange, PrometheusMeterRegistry registry) throws IOException {
    try (exchange) {
      if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      String accept = exchange.getRequestHeaders().getFirst("Accept");
      String contentType = accept != null && accept.contains("application/openmetrics-text")
          ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
          : "text/plain; version=0.0.4; charset=utf-8";
      byte[] body = registry.scrape(contentType).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", contentType);
      if (exchange.getRequestMethod().equals("HEAD")) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static void notFound(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] body = "not found: metrics are at /metrics\n".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      exchange.sendResponseHeaders(404, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** Serves {@code handler} under {@code path} too, on the same port and thread. */
  public void serve(String path, com.sun.net.httpserver.HttpHandler handler) {
    server.createContext(path, handler);
  }

  /** The port it listens on. */
  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
