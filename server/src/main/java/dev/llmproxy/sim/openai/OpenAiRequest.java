package dev.llmproxy.sim.openai;

import dev.llmproxy.v1.CompletionRequest;

/**
 * A completion request as the OpenAI-compatible API received it: the same {@link CompletionRequest}
 * the gRPC backend would get (so both produce the same text), plus how to answer.
 *
 * @param endpoint which API was called
 * @param request the fields that select and shape the text
 * @param stream whether to answer with server-sent events
 * @param includeUsage whether the stream asked for a usage chunk ({@code stream_options.include_usage})
 */
record OpenAiRequest(Endpoint endpoint, CompletionRequest request, boolean stream, boolean includeUsage) {

  /** The two completion APIs. */
  enum Endpoint {
    CHAT("/v1/chat/completions", "chatcmpl-", "chat.completion", "chat.completion.chunk"),
    COMPLETIONS("/v1/completions", "cmpl-", "text_completion", "text_completion");

    final String path;
    final String idPrefix;
    final String object;
    final String chunkObject;

    Endpoint(String path, String idPrefix, String object, String chunkObject) {
      this.path = path;
      this.idPrefix = idPrefix;
      this.object = object;
      this.chunkObject = chunkObject;
    }
  }
}
