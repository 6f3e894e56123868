package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.util.LinkedHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One simulated engine's prefix KV cache: an LRU set of prompt blocks, each identified by a hash of
 * its tokens chained with the hash of the block before it, so a block matches only with the same
 * whole prefix (vLLM's automatic prefix caching works this way). A prompt's cached tokens are those
 * of its leading blocks found in the set; looking a prompt up also stores all its full blocks.
 * Thread-safe; the lock is held for one lookup, never across I/O.
 */
public final class PrefixKvCache {
  private final LinkedHashMap<Long, Boolean> blocks = new LinkedHashMap<>(256, 0.75f, true);
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong cachedTokens = new AtomicLong();

  /**
   * Looks up and stores the prompt of {@code request}.
   *
   * @param capacityBlocks blocks the cache may hold; 0 caches nothing
   * @return how many of its leading prompt tokens were cached
   */
  public int lookUpAndStore(CompletionRequest request, int capacityBlocks, int blockTokens) {
    int total = SeededTokenGenerator.promptTokens(request);
    promptTokens.addAndGet(total);
    if (capacityBlocks == 0) {
      return 0;
    }
    long[] hashes = blockHashes(request, blockTokens);
    int cached = 0;
    synchronized (this) {
      boolean matching = true;
      for (long hash : hashes) {
        if (matching && blocks.get(hash) != null) {
          cached += blockTokens;
        } else {
          matching = false;
          blocks.put(hash, Boolean.TRUE);
        }
      }
      while (blocks.size() > capacityBlocks) {
        blocks.remove(blocks.keySet().iterator().next());
      }
    }
    cachedTokens.addAndGet(cached);
    return cached;
  }

  /** Prompt tokens looked up so far. */
  public long promptTokens() {
    return promptTokens.get();
  }

  /** Of those, tokens found cached (vLLM's {@code prefix_cache_hits}). */
  public long cachedTokens() {
    return cachedTokens.get();
  }

  /** Blocks held now. */
  public synchronized int size() {
    return blocks.size();
  }

  // Full blocks only: a partial last block is not cached, as in vLLM.
  private static long[] blockHashes(CompletionRequest request, int blockTokens) {
    BlockHasher hasher = new BlockHasher(blockTokens);
    if (!request.getPrompt().isEmpty()) {
      hasher.words(request.getPrompt());
    }
    for (Message message : request.getMessagesList()) {
      hasher.words(message.getContent());
    }
    return hasher.hashes();
  }

  /** Splits text into words and chains a hash over each full block of them. */
  private static final class BlockHasher {
    private final int blockTokens;
    private long[] hashes = new long[8];
    private int count;
    private long chain = 0x9E3779B97F4A7C15L;
    private int inBlock;

    BlockHasher(int blockTokens) {
      this.blockTokens = blockTokens;
    }

    void words(String text) {
      int i = 0;
      int n = text.length();
      while (i < n) {
        while (i < n && Character.isWhitespace(text.charAt(i))) {
          i++;
        }
        int start = i;
        while (i < n && !Character.isWhitespace(text.charAt(i))) {
          i++;
        }
        if (i > start) {
          word(text, start, i);
        }
      }
    }

    private void word(String text, int from, int to) {
      long h = chain;
      for (int i = from; i < to; i++) {
        h = (h ^ text.charAt(i)) * 0x100000001b3L;
      }
      chain = (h ^ ' ') * 0x100000001b3L;
      if (++inBlock == blockTokens) {
        if (count == hashes.length) {
          hashes = java.util.Arrays.copyOf(hashes, count * 2);
        }
        hashes[count++] = chain;
        inBlock = 0;
      }
    }

    long[] hashes() {
      return java.util.Arrays.copyOf(hashes, count);
    }
  }
}
