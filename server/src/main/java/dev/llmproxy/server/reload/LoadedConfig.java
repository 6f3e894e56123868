package dev.llmproxy.server.reload;

import dev.llmproxy.server.config.ProxyConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A validated config and a short digest of its source, which names it in metrics and on the admin
 * page (two loads of the same file have the same hash).
 */
public record LoadedConfig(ProxyConfig config, String hash) {
  public LoadedConfig {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(hash, "hash");
  }

  /** The first 12 hex digits of the SHA-256 of {@code source}. */
  public static String hashOf(byte[] source) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String hashOf(String source) {
    return hashOf(source.getBytes(StandardCharsets.UTF_8));
  }
}
