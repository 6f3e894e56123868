package dev.llmproxy.server.config;

import java.util.List;
import java.util.Objects;

/**
 * The proxy's listener.
 *
 * @param maxRequestBytes the largest request message accepted; larger ones fail with
 *     RESOURCE_EXHAUSTED before any work is done
 * @param forwardHeaders request headers copied to the upstream call; nothing else is forwarded,
 *     so API keys never leave the proxy
 * @param resilience graceful drain, keepalive and connection age toward clients
 * @param limits streams per connection, stream resets, and bytes of unfinished requests
 */
public record ServerConfig(String host, int port, int maxRequestBytes, boolean reflection,
    TlsServerConfig tls, List<String> forwardHeaders, ServerResilience resilience, ServerLimits limits) {

  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 50051;
  public static final int DEFAULT_MAX_REQUEST_BYTES = 4 << 20;
  /** Headers that carry callers' credentials: never forwarded upstream. */
  static final List<String> CREDENTIAL_HEADERS = List.of("authorization", "x-api-key", "cookie");
  public static final List<String> DEFAULT_FORWARD_HEADERS =
      List.of("x-request-id", "traceparent", "tracestate");

  public ServerConfig {
    forwardHeaders = List.copyOf(forwardHeaders);
    Objects.requireNonNull(resilience, "resilience");
    Objects.requireNonNull(limits, "limits");
  }

  /** A listener with the default {@link ServerLimits}. */
  public ServerConfig(String host, int port, int maxRequestBytes, boolean reflection, TlsServerConfig tls,
      List<String> forwardHeaders, ServerResilience resilience) {
    this(host, port, maxRequestBytes, reflection, tls, forwardHeaders, resilience, ServerLimits.defaults());
  }

  /** A listener with the default drain, keepalive and connection-age settings. */
  public ServerConfig(String host, int port, int maxRequestBytes, boolean reflection, TlsServerConfig tls,
      List<String> forwardHeaders) {
    this(host, port, maxRequestBytes, reflection, tls, forwardHeaders, ServerResilience.defaults());
  }

  public static ServerConfig defaults() {
    return new ServerConfig(DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_REQUEST_BYTES, true, null,
        DEFAULT_FORWARD_HEADERS);
  }

  public ServerConfig withAddress(String host, int port) {
    return new ServerConfig(host, port, maxRequestBytes, reflection, tls, forwardHeaders, resilience, limits);
  }

  public ServerConfig withMaxRequestBytes(int newMaxRequestBytes) {
    return new ServerConfig(host, port, newMaxRequestBytes, reflection, tls, forwardHeaders, resilience, limits);
  }

  public ServerConfig withResilience(ServerResilience newResilience) {
    return new ServerConfig(host, port, maxRequestBytes, reflection, tls, forwardHeaders, newResilience, limits);
  }

  public ServerConfig withLimits(ServerLimits newLimits) {
    return new ServerConfig(host, port, maxRequestBytes, reflection, tls, forwardHeaders, resilience, newLimits);
  }

  static ServerConfig from(ConfigNode node) {
    String host = node.string("host", DEFAULT_HOST);
    int port = node.integer("port", DEFAULT_PORT, 0, 65535);
    int maxRequestBytes = node.integer("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES, 1024, 256 << 20);
    boolean reflection = node.bool("reflection", true);
    TlsServerConfig tls = TlsServerConfig.from(node.child("tls"));
    List<String> forward = node.has("forward_headers")
        ? node.list("forward_headers", ServerConfig::headerName) : DEFAULT_FORWARD_HEADERS;
    ServerResilience resilience = ServerResilience.from(node);
    ServerLimits limits = ServerLimits.from(node);
    node.rejectUnknownKeys();
    return new ServerConfig(host, port, maxRequestBytes, reflection, tls, forward, resilience, limits);
  }

  private static String headerName(String path, Object value) {
    if (value instanceof String s && s.matches("[a-z0-9][a-z0-9_.-]*") && !s.endsWith("-bin")
        && !s.startsWith("grpc-") && !CREDENTIAL_HEADERS.contains(s)) {
      return s;
    }
    throw ConfigException.invalid(path, value,
        "a lower-case ASCII header name, not grpc-*, not binary (-bin), not a credential (API keys never go upstream)");
  }
}
