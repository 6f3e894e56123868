package dev.llmproxy.server.auth;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Who may call: the configured API keys, the header they arrive in, and whether callers without a
 * key are served (as the anonymous tier) or refused.
 *
 * @param header the request header carrying the key; {@code authorization: Bearer <key>} is
 *     accepted as well
 * @param anonymousTier the tier of callers that present no key; {@code null}: they are refused
 */
public record AuthConfig(String header, List<ApiKeyConfig> keys, String anonymousTier) {
  public static final String DEFAULT_HEADER = "x-api-key";

  public AuthConfig {
    Objects.requireNonNull(header, "header");
    keys = List.copyOf(keys);
    Map<String, Integer> ids = new HashMap<>();
    Map<String, Integer> hashes = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      ApiKeyConfig key = keys.get(i);
      Integer sameId = ids.putIfAbsent(key.id(), i);
      if (sameId != null) {
        throw ConfigException.invalid("auth.keys[" + i + "].id", key.id(),
            "an id no other key uses; auth.keys[" + sameId + "] already uses it");
      }
      Integer sameHash = hashes.putIfAbsent(key.sha256(), i);
      if (sameHash != null) {
        throw new ConfigException("auth.keys[" + i + "]: key '" + key.id() + "' has the same secret as key '"
            + keys.get(sameHash).id() + "' (expected: a distinct secret per key)");
      }
    }
  }

  public static AuthConfig from(ConfigNode node) {
    String header = node.string("header", DEFAULT_HEADER);
    if (!header.matches("[a-z0-9][a-z0-9_.-]*") || header.endsWith("-bin") || header.startsWith("grpc-")
        || header.equals("authorization")) {
      throw ConfigException.invalid(node.pathOf("header"), header,
          "a lower-case ASCII header name, not grpc-*, binary (-bin) or authorization");
    }
    String anonymousTier = node.string("anonymous_tier", null);
    List<ApiKeyConfig> keys = node.nodes("keys").stream().map(ApiKeyConfig::from).toList();
    node.rejectUnknownKeys();
    return new AuthConfig(header, keys, anonymousTier);
  }

  public boolean allowsAnonymous() {
    return anonymousTier != null;
  }
}
