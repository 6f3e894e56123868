package dev.llmproxy.server.quota;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;

/**
 * Estimates a call's tokens before it runs, to reserve them: the prompt at about four characters
 * per token (the usual rule of thumb for English with BPE tokenizers) plus the most tokens the
 * call may generate. The estimate is settled against the real usage when the call ends.
 */
public final class TokenEstimator {
  static final int CHARS_PER_TOKEN = 4;

  /** Prompt tokens: characters of the prompt or of every message's role and content, / 4, at least 1. */
  public long promptTokens(CompletionRequest request) {
    long chars = request.getPrompt().length();
    for (Message message : request.getMessagesList()) {
      chars += message.getRole().length() + message.getContent().length();
    }
    return Math.max(1, (chars + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN);
  }

  /** The reservation: prompt tokens plus {@code max_tokens} (or {@code defaultMaxTokens} when 0). */
  public long estimate(CompletionRequest request, int defaultMaxTokens) {
    int maxTokens = request.getMaxTokens() > 0 ? request.getMaxTokens() : defaultMaxTokens;
    return promptTokens(request) + Math.max(0, maxTokens);
  }
}
