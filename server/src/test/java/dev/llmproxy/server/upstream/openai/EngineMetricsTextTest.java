package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.orca.LoadReport;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EngineMetricsTextTest {
  @Test
  void readsVllmQueueRunningAndKvCacheUse() {
    LoadReport report = EngineMetricsText.parse("""
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B"} 7.0
        # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-3.1-8B"} 3.0
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-3.1-8B"} 0.42
        vllm:time_to_first_token_seconds_bucket{le="0.001",model_name="meta-llama/Llama-3.1-8B"} 0.0
        vllm:prompt_tokens_total{model_name="meta-llama/Llama-3.1-8B"} 8.128902e+06
        """);

    assertThat(report.namedMetrics()).isEqualTo(Map.of(
        LoadReport.WAITING, 3.0, LoadReport.RUNNING, 7.0, LoadReport.KV_CACHE_USAGE, 0.42));
  }

  @Test
  void sumsTheQueuesOfDataParallelRanksAndTakesTheFullestCache() {
    LoadReport report = EngineMetricsText.parse("""
        vllm:num_requests_waiting{engine="0",model_name="m"} 2
        vllm:num_requests_waiting{engine="1",model_name="m"} 5
        vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
        vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.75
        """);

    assertThat(report.named(LoadReport.WAITING)).hasValue(7);
    assertThat(report.named(LoadReport.KV_CACHE_USAGE)).hasValue(0.75);
    assertThat(report.named(LoadReport.RUNNING)).isEmpty();
  }

  @Test
  void readsSglangAndOlderVllmNames() {
    assertThat(EngineMetricsText.parse("""
        sglang:num_running_reqs{model_name="q"} 8
        sglang:num_queue_reqs{model_name="q"} 4
        sglang:token_usage{model_name="q"} 0.52
        """).namedMetrics()).isEqualTo(Map.of(LoadReport.WAITING, 4.0, LoadReport.RUNNING, 8.0,
            LoadReport.KV_CACHE_USAGE, 0.52));
    assertThat(EngineMetricsText.parse("vllm:gpu_cache_usage_perc{model_name=\"m\"} 0.9\n")
        .named(LoadReport.KV_CACHE_USAGE)).hasValue(0.9);
  }

  @Test
  void labelsMayHoldQuotesBracesAndBlanks() {
    LoadReport report = EngineMetricsText.parse(
        "vllm:num_requests_waiting{model_name=\"a \\\"b} c\\\\\",x=\"{\"} 6 1700000000000\r\n");

    assertThat(report.named(LoadReport.WAITING)).hasValue(6);
  }

  @Test
  void skipsLinesThatDoNotParseAndValuesThatAreNoLoad() {
    LoadReport report = EngineMetricsText.parse("""
        vllm:num_requests_waiting{model_name="m" 40
        vllm:num_requests_waiting{model_name="m"} many
        vllm:num_requests_waiting{model_name="m"} NaN
        vllm:num_requests_waiting{model_name="m"} +Inf
        vllm:num_requests_waiting{model_name="m"} -1
        vllm:num_requests_waiting{model_name="m"} 0x10
        vllm:num_requests_waiting{model_name="m"} 1d
        vllm:num_requests_waiting{model_name="m"}
        vllm:num_requests_waiting{model_name="m"}9
        vllm:num_requests_waiting{model_name="m"} 2
        vllm:kv_cache_usage_perc{model_name="m"} 1.5
        """);

    assertThat(report.named(LoadReport.WAITING)).hasValue(2);
    assertThat(report.named(LoadReport.KV_CACHE_USAGE)).hasValue(1);
  }

  @Test
  void aPageWithoutQueueOrCacheUseGivesNoReport() {
    assertThat(EngineMetricsText.parse("")).isNull();
    assertThat(EngineMetricsText.parse("# HELP process_cpu_seconds_total\nprocess_cpu_seconds_total 12.5\n")).isNull();
    assertThat(EngineMetricsText.parse("vllm:num_requests_running{model_name=\"m\"} 3\n")).isNull();
    assertThat(EngineMetricsText.parse("<html><body>404 page not found</body></html>")).isNull();
    assertThat(EngineMetricsText.parse("\u0000\u00ff\uFFFD{\"}\n\n\n   \t\n")).isNull();
  }
}
