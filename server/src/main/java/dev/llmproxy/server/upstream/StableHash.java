package dev.llmproxy.server.upstream;

/**
 * A 64-bit hash of text that is the same in every JVM, every run and every replica of the proxy
 * (unlike {@code String.hashCode}, which is 32 bits and only a convention): FNV-1a over the UTF-16
 * code units, then MurmurHash3's finalizer so that nearby inputs spread over the whole ring.
 */
public final class StableHash {
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private StableHash() {
  }

  /** The hash of {@code text}. */
  public static long of(CharSequence text) {
    return finish(update(FNV_OFFSET, text, 0, text.length()));
  }

  /** Starts a hash to be fed with {@link #update}. */
  static long start() {
    return FNV_OFFSET;
  }

  /** Feeds {@code text[from, to)} into {@code state}. */
  static long update(long state, CharSequence text, int from, int to) {
    long h = state;
    for (int i = from; i < to; i++) {
      char c = text.charAt(i);
      h = (h ^ (c & 0xff)) * FNV_PRIME;
      h = (h ^ (c >>> 8)) * FNV_PRIME;
    }
    return h;
  }

  /** Feeds a separator that no text contains, so ("ab","c") and ("a","bc") differ. */
  static long separator(long state) {
    return (state ^ 0x1f) * FNV_PRIME * 31;
  }

  /** The final value of a fed hash. */
  static long finish(long state) {
    long h = state;
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
