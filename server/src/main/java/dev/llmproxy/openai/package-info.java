/**
 * Pieces of the OpenAI-compatible wire format that both sides of it share: the proxy, which speaks
 * it to engines as a client, and the simulated backend, which serves it.
 */
package dev.llmproxy.openai;
