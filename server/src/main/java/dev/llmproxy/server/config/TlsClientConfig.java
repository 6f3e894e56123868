package dev.llmproxy.server.config;

import java.nio.file.Path;

/**
 * TLS towards a route's upstreams: the CA to trust (the system trust store when absent), an
 * optional client certificate for mutual TLS, and an optional authority override for upstreams
 * whose certificate names another host.
 */
public record TlsClientConfig(Path ca, Path certChain, Path privateKey, String authority) {

  static TlsClientConfig from(ConfigNode node) {
    if (!node.has("ca") && !node.has("cert") && !node.has("key") && !node.has("authority")) {
      node.rejectUnknownKeys();
      return null;
    }
    Path ca = TlsServerConfig.readablePath(node, "ca", false);
    Path cert = TlsServerConfig.readablePath(node, "cert", false);
    Path key = TlsServerConfig.readablePath(node, "key", false);
    if ((cert == null) != (key == null)) {
      throw ConfigException.invalid(node.pathOf(cert == null ? "cert" : "key"), null,
          "cert and key together, for a client certificate");
    }
    String authority = node.string("authority", null);
    node.rejectUnknownKeys();
    return new TlsClientConfig(ca, cert, key, authority);
  }
}
