/**
 * The Java client of llmproxy.
 *
 * <p>{@link dev.llmproxy.client.LlmProxyClient} is the entry point: built once with
 * {@link dev.llmproxy.client.LlmProxyClient#builder(String)}, shared by every thread, closed at
 * shutdown. It calls {@code llmproxy.v1.LlmProxy} through the generated stubs of the
 * {@code llmproxy-proto} artifact ({@code dev.llmproxy.v1}), whose messages it takes and returns.
 *
 * <pre>{@code
 * try (LlmProxyClient client = LlmProxyClient.builder("127.0.0.1:50051").usePlaintext().build()) {
 *   System.out.println(client.complete("Hello, proxy").getText());
 *   try (CompletionStream stream = client.stream("Tell me a story")) {
 *     for (CompletionChunk chunk : stream) {
 *       System.out.print(chunk.getText());
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p>Requests beyond text are built with {@link dev.llmproxy.client.Messages} (system, user, image
 * parts, assistant tool calls, tool results), {@link dev.llmproxy.client.Tools} (function tools from a
 * JSON schema, tool choices, a call's parsed arguments) and {@link dev.llmproxy.client.ResponseFormats}
 * (JSON object, JSON schema). A stream's tool-call deltas are put together by
 * {@link dev.llmproxy.client.CompletionStream#completion()} or a
 * {@link dev.llmproxy.client.CompletionAccumulator}.
 *
 * <p>Failures are {@link dev.llmproxy.client.LlmProxyException}s, one subclass per case a caller
 * handles differently: {@link dev.llmproxy.client.QuotaExceededException},
 * {@link dev.llmproxy.client.InvalidRequestException},
 * {@link dev.llmproxy.client.UnauthenticatedException},
 * {@link dev.llmproxy.client.PermissionDeniedException},
 * {@link dev.llmproxy.client.ModelNotFoundException} and
 * {@link dev.llmproxy.client.UnavailableException}.
 */
package dev.llmproxy.client;
