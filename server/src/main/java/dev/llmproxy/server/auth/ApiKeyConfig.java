package dev.llmproxy.server.auth;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One API key as configured: only its SHA-256 hash is kept, even when the config gave the key in
 * the plaintext development form. {@link #toString()} leaves the hash out.
 *
 * @param id the name logs, errors and quota headers use for the key; never the secret
 * @param sha256 lower-case hex SHA-256 of the key's UTF-8 bytes
 * @param tier the quota tier the key is held to; {@code null}: no limits
 * @param models the models the key may use; empty: every model
 * @param plaintextDevOnly whether the config carried the key itself ({@code plaintext_dev_only})
 */
public record ApiKeyConfig(String id, String sha256, String tier, List<String> models,
    boolean plaintextDevOnly) {

  /** The id under which callers without a key are counted; no key may use it. */
  public static final String ANONYMOUS_ID = "anonymous";
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");

  public ApiKeyConfig {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(sha256, "sha256");
    models = List.copyOf(models);
  }

  /** A key given as its SHA-256 hash, for production configs. */
  public static ApiKeyConfig hashed(String id, String sha256Hex, String tier, List<String> models) {
    return new ApiKeyConfig(id, sha256Hex.toLowerCase(Locale.ROOT), tier, models, false);
  }

  /** A key given in plaintext: for demos and development only; only its hash is kept. */
  public static ApiKeyConfig plaintextDevOnly(String id, String key, String tier, List<String> models) {
    return new ApiKeyConfig(id, sha256Hex(key), tier, models, true);
  }

  static ApiKeyConfig from(ConfigNode node) {
    String id = node.requiredString("id");
    if (!ID.matcher(id).matches()) {
      throw ConfigException.invalid(node.pathOf("id"), id,
          "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    if (id.equals(ANONYMOUS_ID)) {
      throw ConfigException.invalid(node.pathOf("id"), id,
          "an id other than '" + ANONYMOUS_ID + "', which names callers without a key");
    }
    String hash = node.string("sha256", null);
    String plaintext = node.string("plaintext_dev_only", null);
    if ((hash == null) == (plaintext == null)) {
      throw ConfigException.invalid(node.pathOf("sha256"), hash == null ? null : "set together with plaintext_dev_only",
          "exactly one of sha256 (hex SHA-256 of the key) or plaintext_dev_only (development only)");
    }
    if (hash != null && !SHA256_HEX.matcher(hash).matches()) {
      // The value may be a key pasted by mistake: name its length, never echo it.
      throw ConfigException.invalid(node.pathOf("sha256"), "a value of " + hash.length() + " characters",
          "64 hexadecimal digits, e.g. the output of: printf %s \"$KEY\" | sha256sum");
    }
    if (plaintext != null && plaintext.isBlank()) {
      throw ConfigException.invalid(node.pathOf("plaintext_dev_only"), plaintext, "a non-empty key");
    }
    String tier = node.string("tier", null);
    List<String> models = node.strings("models");
    node.rejectUnknownKeys();
    return hash != null ? hashed(id, hash, tier, models) : plaintextDevOnly(id, plaintext, tier, models);
  }

  /** The lower-case hex SHA-256 of the key's UTF-8 bytes. */
  public static String sha256Hex(String key) {
    return HexFormat.of().formatHex(sha256(key));
  }

  static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  @Override
  public String toString() {
    return "ApiKeyConfig[id=" + id + ", sha256=(redacted), tier=" + tier + ", models=" + models
        + (plaintextDevOnly ? ", plaintext_dev_only" : "") + "]";
  }
}
