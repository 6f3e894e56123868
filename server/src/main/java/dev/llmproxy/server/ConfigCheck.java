package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a config needs besides being valid YAML with valid values, checked without starting
 * anything: that every credential it names can be read (upstream API keys, TLS files).
 */
final class ConfigCheck {
  private ConfigCheck() {}

  /** Throws the {@link ConfigException} of the first credential that cannot be read. */
  static void credentials(ProxyConfig config) {
    if (config.server().tls() != null) {
      readable("server.tls.cert", config.server().tls().certChain());
      readable("server.tls.key", config.server().tls().privateKey());
      readable("server.tls.client_ca", config.server().tls().clientCa());
    }
    for (int i = 0; i < config.routes().size(); i++) {
      RouteConfig route = config.routes().get(i);
      String at = "routes[" + i + "]";
      if (route.openai() != null && route.openai().apiKey() != null) {
        route.openai().apiKey().resolve();
      }
      if (route.tls() != null) {
        readable(at + ".tls.ca", route.tls().ca());
        readable(at + ".tls.cert", route.tls().certChain());
        readable(at + ".tls.key", route.tls().privateKey());
      }
    }
  }

  private static void readable(String path, Path file) {
    if (file != null && !Files.isReadable(file)) {
      throw ConfigException.invalid(path, file.toString(), "a readable file");
    }
  }
}
