package dev.llmproxy.server.quota;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;

/**
 * Estimates a call's tokens before it runs, to reserve them: the prompt at about four characters
 * per token (the usual rule of thumb for English with BPE tokenizers) plus the most tokens the
 * call may generate. The estimate is settled against the real usage when the call ends.
 *
 * <p>What else the upstream reads counts as prompt too: text parts, the tool calls and tool results
 * of earlier turns, each tool's name, description and JSON schema (its JSON text, four characters a
 * token, as engines render schemas into the prompt), and the response_format schema. An image counts
 * as a fixed number of tokens, since its size is unknown without decoding it: {@value
 * #LOW_DETAIL_IMAGE_TOKENS} with {@code detail: low}, else {@value #IMAGE_TOKENS}, what OpenAI charges
 * for a 1024×1024 image at high detail (four 512-pixel tiles at 170 plus 85).
 */
public final class TokenEstimator {
  static final int CHARS_PER_TOKEN = 4;
  static final int IMAGE_TOKENS = 765;
  static final int LOW_DETAIL_IMAGE_TOKENS = 85;

  /** Prompt tokens: characters of everything the upstream reads, / 4, plus images; at least 1. */
  public long promptTokens(CompletionRequest request) {
    long chars = request.getPrompt().length();
    long imageTokens = 0;
    for (Message message : request.getMessagesList()) {
      chars += message.getRole().length() + message.getContent().length() + message.getToolCallId().length();
      for (ContentPart part : message.getPartsList()) {
        if (part.hasImage()) {
          imageTokens += part.getImage().getDetail().equals("low") ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
        } else {
          chars += part.getText().length();
        }
      }
      for (ToolCall call : message.getToolCallsList()) {
        chars += call.getId().length() + call.getFunction().getName().length()
            + call.getFunction().getArguments().length();
      }
    }
    for (Tool tool : request.getToolsList()) {
      FunctionDefinition f = tool.getFunction();
      chars += f.getName().length() + f.getDescription().length() + jsonChars(f.getParameters());
    }
    if (request.getResponseFormat().hasJsonSchema()) {
      chars += jsonChars(request.getResponseFormat().getJsonSchema().getSchema());
    }
    return Math.max(1, (chars + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN + imageTokens);
  }

  /** The reservation: prompt tokens plus {@code max_tokens} (or {@code defaultMaxTokens} when 0). */
  public long estimate(CompletionRequest request, int defaultMaxTokens) {
    int maxTokens = request.getMaxTokens() > 0 ? request.getMaxTokens() : defaultMaxTokens;
    return promptTokens(request) + Math.max(0, maxTokens);
  }

  /** About the length of {@code struct} written as compact JSON, without writing it. */
  private static long jsonChars(Struct struct) {
    long chars = 2;
    for (var field : struct.getFieldsMap().entrySet()) {
      chars += field.getKey().length() + 4 + jsonChars(field.getValue());
    }
    return chars;
  }

  private static long jsonChars(Value value) {
    return switch (value.getKindCase()) {
      case STRUCT_VALUE -> jsonChars(value.getStructValue());
      case LIST_VALUE -> 2 + value.getListValue().getValuesList().stream()
          .mapToLong(v -> jsonChars(v) + 1).sum();
      case STRING_VALUE -> value.getStringValue().length() + 2;
      default -> 5; // a number, a boolean or null
    };
  }
}
