package dev.llmproxy.sim.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.PrefixKvCache;
import dev.llmproxy.v1.CompletionRequest;
import org.junit.jupiter.api.Test;

class VllmMetricsTest {
  @Test
  void reportsTheQueueAndThePrefixCacheInVllmsNames() {
    PrefixKvCache cache = new PrefixKvCache();
    String prompt = "w ".repeat(32).trim(); // two blocks of 16
    cache.lookUpAndStore(CompletionRequest.newBuilder().setPrompt(prompt).build(), 8, 16);
    cache.lookUpAndStore(CompletionRequest.newBuilder().setPrompt(prompt).build(), 8, 16);

    String page = new VllmMetrics().render("m", 3, 2, cache, 8);

    assertThat(page).contains("vllm:num_requests_running{model_name=\"m\"} 3.0\n")
        .contains("vllm:num_requests_waiting{model_name=\"m\"} 2.0\n")
        .contains("vllm:kv_cache_usage_perc{model_name=\"m\"} 0.25\n")
        .contains("vllm:prefix_cache_queries_total{model_name=\"m\"} 64.0\n")
        .contains("vllm:prefix_cache_hits_total{model_name=\"m\"} 32.0\n");
  }
}
