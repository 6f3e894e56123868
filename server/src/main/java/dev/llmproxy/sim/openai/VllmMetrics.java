package dev.llmproxy.sim.openai;

import dev.llmproxy.sim.PrefixKvCache;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code /metrics} page in vLLM's names, so that tools that scrape vLLM (autoscalers, load
 * balancers that read queue depth) work against the simulated backend: the gauges {@code
 * vllm:num_requests_running} and {@code vllm:num_requests_waiting}, and the counters {@code
 * vllm:prompt_tokens_total} and {@code vllm:generation_tokens_total}, and from the engine model's
 * prefix cache the gauge {@code vllm:kv_cache_usage_perc} (a fraction, 0 to 1, as vLLM reports it)
 * and the counters {@code vllm:prefix_cache_queries_total} and {@code vllm:prefix_cache_hits_total}
 * (in tokens), each labelled {@code model_name}, in the Prometheus text format 0.0.4.
 */
final class VllmMetrics {
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final LongAdder promptTokens = new LongAdder();
  private final LongAdder generationTokens = new LongAdder();

  /** Counts the prompt of a request that began generating. */
  void addPromptTokens(int tokens) {
    promptTokens.add(tokens);
  }

  /** Counts generated tokens. */
  void addGenerationTokens(int tokens) {
    generationTokens.add(tokens);
  }

  /** The page, with the gauges read now. */
  String render(String modelName, int running, int waiting, PrefixKvCache kvCache, int kvCacheBlocks) {
    String label = "{model_name=\"" + escape(modelName) + "\"}";
    double usage = kvCacheBlocks == 0 ? 0 : Math.min(1, kvCache.size() / (double) kvCacheBlocks);
    return render(modelName, running, waiting)
        + "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
        + "# TYPE vllm:kv_cache_usage_perc gauge\n"
        + "vllm:kv_cache_usage_perc" + label + " " + usage + "\n"
        + "# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.\n"
        + "# TYPE vllm:prefix_cache_queries_total counter\n"
        + "vllm:prefix_cache_queries_total" + label + " " + kvCache.promptTokens() + ".0\n"
        + "# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.\n"
        + "# TYPE vllm:prefix_cache_hits_total counter\n"
        + "vllm:prefix_cache_hits_total" + label + " " + kvCache.cachedTokens() + ".0\n";
  }

  private String render(String modelName, int running, int waiting) {
    String label = "{model_name=\"" + escape(modelName) + "\"}";
    return "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
        + "# TYPE vllm:num_requests_running gauge\n"
        + "vllm:num_requests_running" + label + " " + running + ".0\n"
        + "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
        + "# TYPE vllm:num_requests_waiting gauge\n"
        + "vllm:num_requests_waiting" + label + " " + waiting + ".0\n"
        + "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
        + "# TYPE vllm:prompt_tokens_total counter\n"
        + "vllm:prompt_tokens_total" + label + " " + promptTokens.sum() + ".0\n"
        + "# HELP vllm:generation_tokens_total Number of generation tokens processed.\n"
        + "# TYPE vllm:generation_tokens_total counter\n"
        + "vllm:generation_tokens_total" + label + " " + generationTokens.sum() + ".0\n";
  }

  private static String escape(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
