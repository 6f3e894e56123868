package dev.llmproxy.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.llmproxy.server.config.AdminConfig;
import dev.llmproxy.server.reload.ProxyRuntime;
import dev.llmproxy.server.reload.ReloadResult;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The admin endpoint, under {@code /admin/} on the metrics port:
 * <ul>
 *   <li>{@code GET /admin/config}: the config new calls run on, as JSON, secrets redacted, with its hash;
 *   <li>{@code GET /admin/routes}: each route and its upstreams (healthy, ejected, calls in flight);
 *   <li>{@code POST /admin/reload}: reloads the config; 200 if applied, 422 with the error if not.
 * </ul>
 * It reads {@code admin} from the running config on every request, so a reload turns it on or off:
 * off answers 404; a client from another host than loopback gets 403 unless {@code allow_remote}.
 */
public final class AdminHttpHandler implements HttpHandler {
  private final Supplier<ProxyRuntime> runtime;
  private final Supplier<ReloadResult> reload;
  private final RouteStates routes;
  private final ObjectMapper json;

  public AdminHttpHandler(Supplier<ProxyRuntime> runtime, Supplier<ReloadResult> reload, MeterRegistry meters) {
    this.runtime = Objects.requireNonNull(runtime, "runtime");
    this.reload = Objects.requireNonNull(reload, "reload");
    this.routes = new RouteStates(meters);
    SimpleModule plainText = new SimpleModule();
    plainText.addSerializer(Duration.class, ToStringSerializer.instance);
    plainText.addSerializer(Path.class, ToStringSerializer.instance);
    this.json = new ObjectMapper().registerModule(plainText).enable(SerializationFeature.INDENT_OUTPUT);
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      ProxyRuntime current = runtime.get();
      AdminConfig admin = current.config().admin();
      if (!admin.enabled()) {
        send(exchange, 404, text("the admin endpoint is off (admin.enabled: false)"));
        return;
      }
      if (!admin.allowRemote() && !exchange.getRemoteAddress().getAddress().isLoopbackAddress()) {
        send(exchange, 403, text("the admin endpoint answers loopback clients only (admin.allow_remote: false)"));
        return;
      }
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      switch (path) {
        case "/admin/config" -> {
          if (allowed(exchange, method, "GET")) {
            ObjectNode body = json.createObjectNode();
            body.put("hash", current.hash());
            body.set("config", Redaction.redact(json.valueToTree(current.config())));
            send(exchange, 200, body);
          }
        }
        case "/admin/routes" -> {
          if (allowed(exchange, method, "GET")) {
            send(exchange, 200, routes.describe(json, current));
          }
        }
        case "/admin/reload" -> {
          if (allowed(exchange, method, "POST")) {
            ReloadResult result = reload.get();
            ObjectNode body = json.valueToTree(result);
            body.put("message", result.describe());
            send(exchange, result.applied() ? 200 : 422, body);
          }
        }
        default -> send(exchange, 404, text("not found: /admin/config, /admin/routes, POST /admin/reload"));
      }
    } catch (RuntimeException e) {
      send(exchange, 500, text(e.getClass().getSimpleName() + ": " + e.getMessage()));
    }
  }

  private boolean allowed(HttpExchange exchange, String method, String expected) throws IOException {
    if (method.equals(expected)) {
      return true;
    }
    exchange.getResponseHeaders().set("Allow", expected);
    send(exchange, 405, text(method + " (expected: " + expected + ")"));
    return false;
  }

  private ObjectNode text(String message) {
    return json.createObjectNode().put("error", message);
  }

  private void send(HttpExchange exchange, int status, Object body) throws IOException {
    byte[] bytes = json.writeValueAsBytes(body);
    exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
