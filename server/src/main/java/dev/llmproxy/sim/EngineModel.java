package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How the simulated backend's timing depends on what it is doing, so that routing matters as it
 * does on a GPU server. With {@link #none()} every call takes the configured TTFT and ITL.
 *
 * <pre>
 *   TTFT = queueing + timeToFirstToken + uncached prompt tokens x prefillPerToken
 *   ITL  = interTokenLatency x (1 + itlGrowth x (calls generating - 1))
 * </pre>
 * Queueing is the real time a call waits for one of {@code maxConcurrency} slots (the batch).
 * Prompt tokens are whitespace-separated words (as usage counts them), split into blocks of
 * {@code kvBlockTokens}; a block is cached when it and every block before it were seen recently
 * (the KV cache keeps the {@code kvCacheBlocks} least recently used blocks, like vLLM's automatic
 * prefix caching). Both formulas are deterministic given the order of arrivals; only the jitter of
 * the backend's config adds randomness, drawn from the config's seed.
 *
 * @param prefillPerToken time to prefill one prompt token that is not cached; {@code >= 0}
 * @param itlGrowth how much each further call in the batch slows every token; {@code >= 0}
 * @param kvCacheBlocks blocks the prefix cache holds; {@code 0}: no prefix cache
 * @param kvBlockTokens tokens per cached block; {@code >= 1}
 */
public record EngineModel(Duration prefillPerToken, double itlGrowth, int kvCacheBlocks, int kvBlockTokens) {
  /** Tokens per block of {@link #none()}, vLLM's default block size. */
  public static final int DEFAULT_BLOCK_TOKENS = 16;

  public EngineModel {
    requireNonNull(prefillPerToken, "prefillPerToken");
    if (prefillPerToken.isNegative()) {
      throw new IllegalArgumentException("prefillPerToken: " + DurationText.format(prefillPerToken)
          + " (expected: >= 0)");
    }
    if (!(itlGrowth >= 0) || Double.isInfinite(itlGrowth)) {
      throw new IllegalArgumentException("itlGrowth: " + itlGrowth + " (expected: a number >= 0)");
    }
    if (kvCacheBlocks < 0) {
      throw new IllegalArgumentException("kvCacheBlocks: " + kvCacheBlocks + " (expected: >= 0, 0 for none)");
    }
    if (kvBlockTokens < 1) {
      throw new IllegalArgumentException("kvBlockTokens: " + kvBlockTokens + " (expected: >= 1)");
    }
  }

  /** No prefill cost, no batch slow-down, no prefix cache: the plain configured TTFT and ITL. */
  public static EngineModel none() {
    return new EngineModel(Duration.ZERO, 0, 0, DEFAULT_BLOCK_TOKENS);
  }

  public EngineModel withPrefillPerToken(Duration d) {
    return new EngineModel(d, itlGrowth, kvCacheBlocks, kvBlockTokens);
  }

  public EngineModel withItlGrowth(double growth) {
    return new EngineModel(prefillPerToken, growth, kvCacheBlocks, kvBlockTokens);
  }

  public EngineModel withKvCache(int blocks, int blockTokens) {
    return new EngineModel(prefillPerToken, itlGrowth, blocks, blockTokens);
  }

  @Override
  public String toString() {
    return "EngineModel{prefillPerToken=" + DurationText.format(prefillPerToken) + ", itlGrowth=" + itlGrowth
        + ", kvCacheBlocks=" + kvCacheBlocks + ", kvBlockTokens=" + kvBlockTokens + "}";
  }
}
