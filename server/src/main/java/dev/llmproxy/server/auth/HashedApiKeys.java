package dev.llmproxy.server.auth;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

/**
 * The configured keys, kept only as SHA-256 hashes. A presented key is hashed and compared with
 * every configured hash in constant time ({@link MessageDigest#isEqual}), without stopping at a
 * match, so the time taken tells nothing about which key, or how much of one, was right.
 */
final class HashedApiKeys {
  private final byte[][] hashes;
  private final String[] ids;

  HashedApiKeys(List<ApiKeyConfig> keys) {
    hashes = new byte[keys.size()][];
    ids = new String[keys.size()];
    for (int i = 0; i < keys.size(); i++) {
      hashes[i] = HexFormat.of().parseHex(keys.get(i).sha256());
      ids[i] = keys.get(i).id();
    }
  }

  /** The id of the key {@code presented}, or null if no configured key matches. */
  String idOf(String presented) {
    byte[] hash = ApiKeyConfig.sha256(presented);
    String found = null;
    for (int i = 0; i < hashes.length; i++) {
      if (MessageDigest.isEqual(hash, hashes[i])) {
        found = ids[i];
      }
    }
    return found;
  }
}
