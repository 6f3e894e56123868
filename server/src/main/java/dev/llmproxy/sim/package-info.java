/**
 * The simulated backend: a real upstream LLM server for demos, tests and benchmarks. It lives apart
 * from the proxy because it is an upstream; the proxy only starts it ({@link
 * dev.llmproxy.sim.SimulatedBackend}) or dispatches the {@code sim} command to it ({@link
 * dev.llmproxy.sim.SimCommand}). It speaks gRPC ({@link dev.llmproxy.sim.SimulatedBackend}) or the
 * OpenAI-compatible HTTP API ({@link dev.llmproxy.sim.openai.OpenAiSimulatedBackend}); both drive the
 * same engine ({@link dev.llmproxy.sim.SimulatedCall}), so they produce the same text at the same pace.
 *
 * <p>Choices the product spec leaves open, made here:
 * <ul>
 *   <li>Text depends on the model, the prompt or the messages (roles included) and the seed, not on
 *       {@code max_tokens}, {@code temperature} or {@code top_p}: a larger {@code max_tokens} extends
 *       the same text, as a seeded model would.
 *   <li>A stop string ends generation before the token that would complete it; that token is not
 *       produced (no partial tokens), so the text never contains a stop string. If the very first
 *       token would complete one, a stream sends a single empty chunk with {@code STOP}.
 *   <li>Requests are validated like a real upstream: exactly one of prompt and messages,
 *       {@code max_tokens >= 0}, {@code temperature} 0 to 2, {@code top_p} 0 to 1, else
 *       {@code INVALID_ARGUMENT} naming the field. There is no upper limit on {@code max_tokens}.
 *   <li>Time to first token counts from admission, so time spent in the queue comes on top. A stream
 *       whose reader applies back-pressure does not generate ahead: after the wait, the next token is
 *       one inter-token latency away.
 *   <li>{@code Completion.model} echoes the request's model.
 *   <li>Health NOT_SERVING only changes what the health service reports; calls are still served.
 * </ul>
 */
package dev.llmproxy.sim;
