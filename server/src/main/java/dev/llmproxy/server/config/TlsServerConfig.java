package dev.llmproxy.server.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * TLS for the proxy's listener. With {@code clientCa} set, clients must present a certificate
 * signed by it (mutual TLS).
 */
public record TlsServerConfig(Path certChain, Path privateKey, Path clientCa) {

  static TlsServerConfig from(ConfigNode node) {
    if (!node.has("cert") && !node.has("key") && !node.has("client_ca")) {
      node.rejectUnknownKeys();
      return null;
    }
    TlsServerConfig tls = new TlsServerConfig(
        readablePath(node, "cert", true), readablePath(node, "key", true),
        readablePath(node, "client_ca", false));
    node.rejectUnknownKeys();
    return tls;
  }

  static Path readablePath(ConfigNode node, String key, boolean required) {
    String value = node.string(key, null);
    if (value == null) {
      if (required) {
        throw ConfigException.invalid(node.pathOf(key), null, "a path to a readable PEM file");
      }
      return null;
    }
    Path path = Path.of(value);
    if (!Files.isReadable(path)) {
      throw ConfigException.invalid(node.pathOf(key), value, "a path to a readable PEM file");
    }
    return path;
  }
}
