package dev.llmproxy.server.config;

/**
 * One statically configured upstream: its address ({@code host:port} for gRPC, a URL for the
 * OpenAI-compatible protocol) and the name reported in the {@code llmproxy-upstream} response
 * header (the address itself unless configured).
 */
public record UpstreamEndpoint(String name, String address) {

  static UpstreamEndpoint from(String path, Object value) {
    if (value instanceof String s) {
      return new UpstreamEndpoint(s, checkedAddress(path, s));
    }
    ConfigNode node = ConfigNode.of(path, value);
    String address = checkedAddress(node.pathOf("address"), node.requiredString("address"));
    String name = node.string("name", address);
    node.rejectUnknownKeys();
    return new UpstreamEndpoint(name, address);
  }

  /** An OpenAI-compatible upstream: a URL, or {@code {name, address: URL}}. */
  static UpstreamEndpoint fromUrl(String path, Object value) {
    if (value instanceof String s) {
      String url = OpenAiSettings.checkedUrl(path, s);
      return new UpstreamEndpoint(url, url);
    }
    ConfigNode node = ConfigNode.of(path, value);
    String url = OpenAiSettings.checkedUrl(node.pathOf("address"), node.requiredString("address"));
    String name = node.string("name", url);
    node.rejectUnknownKeys();
    return new UpstreamEndpoint(name, url);
  }

  /** Parses a plain {@code host:port}; {@code path} names the setting in errors. */
  public static UpstreamEndpoint parse(String path, String address) {
    return new UpstreamEndpoint(address, checkedAddress(path, address));
  }

  /** Accepts {@code host:port} and {@code [v6]:port}, port 1 to 65535. */
  static String checkedAddress(String path, String address) {
    int colon = address.lastIndexOf(':');
    boolean ok = colon > 0 && colon < address.length() - 1;
    if (ok) {
      String host = address.substring(0, colon);
      ok = !host.isBlank() && !host.contains("/") && (host.indexOf(':') < 0
          || (host.startsWith("[") && host.endsWith("]")));
      try {
        int port = Integer.parseInt(address.substring(colon + 1));
        ok &= port >= 1 && port <= 65535;
      } catch (NumberFormatException e) {
        ok = false;
      }
    }
    if (!ok) {
      throw ConfigException.invalid(path, address, "host:port with a port from 1 to 65535");
    }
    return address;
  }
}
