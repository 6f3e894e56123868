package dev.llmproxy.server.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;

/**
 * Settings of a route whose upstreams speak the OpenAI-compatible HTTP API.
 *
 * @param upstreamModel the model name sent upstream; {@code null}: the model the client asked for
 * @param apiKey sent as {@code Authorization: Bearer}; {@code null}: none
 * @param scheme {@code http} or {@code https}, for a {@code dns:///} target's addresses
 * @param basePath the base path of a {@code dns:///} target's addresses ({@code ""} or like {@code /v1})
 * @param healthPath polled on each upstream, from the root of its address ({@code /health})
 * @param healthInterval time between polls
 * @param healthTimeout how long one poll may take before it counts as a failure
 * @param unhealthyThreshold failed polls in a row that take an upstream out of rotation (one
 *     success brings it back): an engine that answers one poll late under load stays in
 * @param maxConnections calls (HTTP exchanges) open to one upstream at once; more are refused as busy
 * @param httpVersion HTTP/1.1, HTTP/2, or {@code AUTO}: HTTP/2 where TLS offers it, else HTTP/1.1
 */
public record OpenAiSettings(
    String upstreamModel,
    SecretRef apiKey,
    String scheme,
    String basePath,
    String healthPath,
    Duration healthInterval,
    Duration healthTimeout,
    int unhealthyThreshold,
    int maxConnections,
    HttpVersion httpVersion) {

  public static final String DEFAULT_HEALTH_PATH = "/health";
  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(2);

  /** The HTTP version used toward upstreams. */
  public enum HttpVersion { AUTO, HTTP1, HTTP2 }

  /**
   * Defaults: the requested model, no key, {@code http}, {@code /health} every 2 s (out after 3
   * failed polls), 1,024 connections.
   */
  public static OpenAiSettings defaults() {
    return new OpenAiSettings(null, null, "http", "", DEFAULT_HEALTH_PATH, DEFAULT_HEALTH_INTERVAL,
        Duration.ofSeconds(2), 3, 1024, HttpVersion.AUTO);
  }

  /**
   * Reads the route's OpenAI settings; {@code health_check} is {@code true}, {@code false} or
   * {@code {path, interval, timeout}}.
   */
  static OpenAiSettings from(ConfigNode route) {
    String upstreamModel = route.string("upstream_model", null);
    if (upstreamModel != null && upstreamModel.isBlank()) {
      throw ConfigException.invalid(route.pathOf("upstream_model"), upstreamModel, "a model name");
    }
    SecretRef apiKey = route.has("api_key") ? SecretRef.from(route.pathOf("api_key"), route.raw("api_key")) : null;
    String scheme = route.string("scheme", "http").toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw ConfigException.invalid(route.pathOf("scheme"), scheme, "http or https");
    }
    String basePath = normalizedPath(route.pathOf("base_path"), route.string("base_path", ""));
    String healthPath = DEFAULT_HEALTH_PATH;
    Duration interval = DEFAULT_HEALTH_INTERVAL;
    Duration timeout = Duration.ofSeconds(2);
    int unhealthyThreshold = 3;
    if (route.raw("health_check") instanceof java.util.Map<?, ?>) {
      ConfigNode health = route.child("health_check");
      healthPath = health.string("path", DEFAULT_HEALTH_PATH);
      if (!healthPath.startsWith("/")) {
        throw ConfigException.invalid(health.pathOf("path"), healthPath, "a path from the server's root, like /health");
      }
      interval = health.duration("interval", interval, Duration.ofMillis(100), Duration.ofHours(1));
      timeout = health.duration("timeout", timeout, Duration.ofMillis(10), Duration.ofMinutes(1));
      unhealthyThreshold = health.integer("unhealthy_threshold", unhealthyThreshold, 1, 100);
      health.rejectUnknownKeys();
    }
    ConfigNode http = route.child("http");
    int maxConnections = http.integer("max_connections", 1024, 1, 1_000_000);
    HttpVersion version = http.enumValue("version", HttpVersion.AUTO, HttpVersion.class);
    http.rejectUnknownKeys();
    return new OpenAiSettings(upstreamModel, apiKey, scheme, basePath, healthPath, interval, timeout,
        unhealthyThreshold, maxConnections, version);
  }

  /**
   * Checks an upstream URL ({@code http://10.0.0.5:8000}, {@code https://api.example.com/v1}) and
   * returns it without a trailing slash.
   */
  public static String checkedUrl(String path, String url) {
    String expected = "an http:// or https:// URL with a host and an optional port and base path, "
        + "like http://10.0.0.5:8000 or https://api.example.com/v1";
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw ConfigException.invalid(path, url, expected);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null || uri.getRawQuery() != null
        || uri.getRawFragment() != null || uri.getRawUserInfo() != null || uri.getPort() == 0
        || uri.getPort() > 65535) {
      throw ConfigException.invalid(path, url, expected);
    }
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  private static String normalizedPath(String path, String value) {
    if (value.isEmpty() || value.equals("/")) {
      return "";
    }
    if (!value.startsWith("/") || value.contains("?") || value.contains("#")) {
      throw ConfigException.invalid(path, value, "a path like /v1");
    }
    return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
  }
}
