package dev.llmproxy.server.upstream.openai;

import java.net.URI;

/**
 * The URLs of one OpenAI-compatible upstream, from its base URL as configured. A base whose path
 * ends in {@code /v1} is the API root already ({@code https://api.example.com/v1}, as OpenAI's
 * own SDKs take it); any other base gets {@code /v1} appended ({@code http://10.0.0.5:8000}, as
 * vLLM, SGLang, TGI, llama.cpp and Ollama serve it). The health path is taken from the server's root,
 * as is {@code /metrics} (vLLM's and SGLang's Prometheus page).
 */
record EndpointUrls(URI chat, URI completions, URI health, URI metrics) {

  static EndpointUrls of(String baseUrl, String healthPath) {
    URI base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
    String path = base.getRawPath() == null ? "" : base.getRawPath();
    String api = path.endsWith("/v1") ? path : path + "/v1";
    String origin = base.getScheme() + "://" + base.getRawAuthority();
    return new EndpointUrls(URI.create(origin + api + "/chat/completions"),
        URI.create(origin + api + "/completions"), URI.create(origin + healthPath), URI.create(origin + "/metrics"));
  }
}
