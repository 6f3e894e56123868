package dev.llmproxy.sim.openai;

import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code /metrics} page in vLLM's names, so that tools that scrape vLLM (autoscalers, load
 * balancers that read queue depth) work against the simulated backend: the gauges {@code
 * vllm:num_requests_running} and {@code vllm:num_requests_waiting}, and the counters {@code
 * vllm:prompt_tokens_total} and {@code vllm:generation_tokens_total}, each labelled {@code
 * model_name}, in the Prometheus text format 0.0.4.
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
  String render(String modelName, int running, int waiting) {
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
