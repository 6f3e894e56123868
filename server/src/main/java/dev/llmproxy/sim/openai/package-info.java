/**
 * The simulated backend's OpenAI-compatible mode: {@link
 * dev.llmproxy.sim.openai.OpenAiSimulatedBackend}, an HTTP/1.1 server that answers like vLLM's
 * OpenAI-compatible server, on the same engine as the gRPC backend ({@link
 * dev.llmproxy.sim.SimulatedCall}).
 *
 * <p>Choices the issue leaves open, made here:
 * <ul>
 *   <li>A request becomes the same {@code CompletionRequest} the gRPC backend takes (model, prompt or
 *       messages with their roles, max_tokens or max_completion_tokens, temperature, top_p, stop,
 *       seed), so both protocols produce the same text; the same validation applies (400 naming the
 *       field). Unknown fields are ignored. Chat content given as content parts keeps its text parts.
 *   <li>A streamed answer starts (status 200, headers) with its first token, so a failure before the
 *       first token is a plain HTTP error; after it, an SSE {@code error} event followed by
 *       {@code data: [DONE]}, as vLLM does. The role rides on the first content chunk; the last
 *       content chunk carries the finish reason; the usage chunk, when asked for and enabled, comes
 *       just before {@code [DONE]}.
 *   <li>{@code /health} answers 503 when set not serving or while loading; completions are still
 *       served when not serving (a draining engine), but answer 503 while loading. The API key guards
 *       {@code /v1/...} only, as vLLM's does.
 *   <li>Without configured model names, any model is served and {@code /v1/models} and the
 *       {@code model_name} metric label show the backend's name.
 *   <li>Only requests that reach a completion are recorded; requests refused before it (bad JSON,
 *       wrong key, unknown model, loading, unknown path) are not. The recorded method is the path.
 *   <li>Requests pipelined on one connection are answered in order, one at a time.
 * </ul>
 */
package dev.llmproxy.sim.openai;
