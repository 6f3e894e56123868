package dev.llmproxy.server.completion;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Usage;
import java.util.Locale;

/**
 * What one response message says of how the answer ended: the upstream's token counts, the finish
 * reason and, on a unary answer, the model that answered. The readers that watch answers go by
 * (metrics and the access log, an attempt's trace span, quota settlement) all read these through
 * here, so they agree on which message carries what.
 *
 * @param usage the token counts, or null if the message carries none
 * @param finishReason the finish reason as the OpenAI API spells it ({@code stop}, {@code length},
 *     {@code content_filter}, {@code tool_calls}), or null if unset or unknown
 * @param model the model a unary answer names, or null (chunks do not name one)
 */
public record AnswerEnd(Usage usage, String finishReason, String model) {

  /**
   * What {@code message} (a {@code Completion}, a {@code CompletionChunk} or a {@link RelayedChunk})
   * says of the end; null if nothing, as for every chunk but the last. A relayed chunk is parsed
   * only if its field tags show usage or a finish reason.
   */
  public static AnswerEnd of(Object message) {
    CompletionChunk chunk = RelayedChunk.ending(message);
    if (chunk != null) {
      if (!chunk.hasUsage() && chunk.getFinishReasonValue() == 0) {
        return null;
      }
      return new AnswerEnd(chunk.hasUsage() ? chunk.getUsage() : null, wireName(chunk.getFinishReason()), null);
    }
    if (message instanceof Completion completion) {
      return new AnswerEnd(completion.hasUsage() ? completion.getUsage() : null,
          wireName(completion.getFinishReason()), completion.getModel().isEmpty() ? null : completion.getModel());
    }
    return null;
  }

  /** {@code FINISH_REASON_TOOL_CALLS} as {@code tool_calls}; null for unset and unknown values. */
  static String wireName(FinishReason reason) {
    String name = reason.name();
    if (reason == FinishReason.FINISH_REASON_UNSPECIFIED || !name.startsWith("FINISH_REASON_")) {
      return null;
    }
    return name.substring("FINISH_REASON_".length()).toLowerCase(Locale.ROOT);
  }
}
