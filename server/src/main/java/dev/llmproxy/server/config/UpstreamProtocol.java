package dev.llmproxy.server.config;

/** What a route's upstreams speak. */
public enum UpstreamProtocol {
  /** {@code llmproxy.v1.LlmProxy} over gRPC: another llmproxy, a bridge, or the simulated backend. */
  GRPC,
  /** The OpenAI-compatible HTTP API with SSE streaming (vLLM, SGLang, TGI, llama.cpp, Ollama, hosted APIs). */
  OPENAI
}
