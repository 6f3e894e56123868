package dev.llmproxy.server.cache;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The identity of a request for the cache: a SHA-256 over a canonical encoding of what the request
 * means, so two requests that mean the same get the same key whatever client, language or field
 * order produced their bytes.
 *
 * <p>The encoding is built from the normalized fields, never from the protobuf bytes (which are not
 * canonical across implementations): a version tag, the namespace, the resolved route, the model,
 * the prompt or the messages (tagged, so a prompt never equals a one-message chat), max_tokens
 * after the route's default was filled in, temperature and top_p (absent differs from any value;
 * -0 equals 0), the stop sequences as a sorted set (their order and repeats do not change the
 * answer), and the seed. Every variable-length field is length-prefixed, so no two different
 * requests encode to the same bytes.
 */
public final class CacheKey {
  private static final byte[] VERSION = "llmproxy-cache-key/1".getBytes(StandardCharsets.UTF_8);

  private final byte[] digest;
  private final int hash;

  private CacheKey(byte[] digest) {
    this.digest = digest;
    this.hash = Arrays.hashCode(digest);
  }

  /**
   * The key of {@code request} (already validated, with defaults filled in) on {@code route}, in
   * {@code namespace} (a tenant's entries are invisible to others when namespaces differ).
   */
  public static CacheKey of(String namespace, String route, CompletionRequest request) {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(route, "route");
    Encoder e = new Encoder();
    e.bytes(VERSION);
    e.string(namespace);
    e.string(route);
    e.string(request.getModel());
    if (request.getMessagesCount() > 0) {
      e.tag('M');
      e.integer(request.getMessagesCount());
      for (Message m : request.getMessagesList()) {
        e.string(m.getRole());
        e.string(m.getContent());
      }
    } else {
      e.tag('P');
      e.string(request.getPrompt());
    }
    e.integer(request.getMaxTokens());
    e.optionalFloat(request.hasTemperature(), request.getTemperature());
    e.optionalFloat(request.hasTopP(), request.getTopP());
    List<String> stops = List.copyOf(new TreeSet<>(request.getStopList()));
    e.integer(stops.size());
    stops.forEach(e::string);
    if (request.hasSeed()) {
      e.tag('S');
      e.longValue(request.getSeed());
    } else {
      e.tag('-');
    }
    return new CacheKey(e.digest());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheKey other && hash == other.hash && Arrays.equals(digest, other.digest);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  /** The digest in hex, as logs and tests show it. */
  @Override
  public String toString() {
    return HexFormat.of().formatHex(digest);
  }

  /** Feeds fields into the digest as tagged, length-prefixed bytes. */
  private static final class Encoder {
    private final MessageDigest sha256;
    private final ByteBuffer scalar = ByteBuffer.allocate(Long.BYTES);

    Encoder() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is not available in this JVM", e);
      }
    }

    void tag(char tag) {
      sha256.update((byte) tag);
    }

    void bytes(byte[] value) {
      integer(value.length);
      sha256.update(value);
    }

    void string(String value) {
      bytes(value.getBytes(StandardCharsets.UTF_8));
    }

    void integer(int value) {
      scalar.clear();
      sha256.update(scalar.putInt(value).array(), 0, Integer.BYTES);
    }

    void longValue(long value) {
      scalar.clear();
      sha256.update(scalar.putLong(value).array(), 0, Long.BYTES);
    }

    void optionalFloat(boolean present, float value) {
      if (present) {
        tag('F');
        integer(Float.floatToIntBits(value == 0f ? 0f : value));
      } else {
        tag('-');
      }
    }

    byte[] digest() {
      return sha256.digest();
    }
  }
}
