package dev.llmproxy.server.upstream.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.MappingJsonFactory;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What one OpenAI-compatible response object says that the proxy uses: a streamed chunk
 * ({@code chat.completion.chunk}, {@code text_completion}), a whole answer, or an error object.
 * Only the first choice is read (the proxy asks for one). Read with a streaming parser, so a chunk
 * costs no tree of objects.
 *
 * @param id the completion's id, or {@code null}
 * @param model the model that answered, or {@code null}
 * @param text the new text ({@code choices[0].delta.content}, {@code choices[0].text} or
 *     {@code choices[0].message.content}); {@code ""} when none
 * @param finishReason {@code choices[0].finish_reason}, or {@code null}
 * @param usage the token counts, or {@code null}
 * @param error the error the object carries ({@code {"error": {...}}} or {@code {"object": "error", ...}}), or {@code null}
 * @param reasoning new reasoning text ({@code reasoning_content} as vLLM, SGLang and DeepSeek send
 *     it, or {@code reasoning} as newer vLLM does); {@code ""} when none
 * @param toolCalls tool-call pieces of {@code delta.tool_calls} (or whole calls of
 *     {@code message.tool_calls}, indexed by position)
 * @param logprobs the tokens' log probabilities of {@code choices[0].logprobs}
 */
record OpenAiEvent(String id, String model, String text, String finishReason, Usage usage, OpenAiError error,
    String reasoning, List<ToolCallDelta> toolCalls, List<TokenLogprob> logprobs) {
  private static final JsonFactory JSON = new MappingJsonFactory(); // a codec, for arguments sent as an object

  /** An error object of the OpenAI API: its message, type and code (an HTTP status, when numeric). */
  record OpenAiError(String message, String type, String code) {}

  /** Whether the event carries a new piece of text. */
  boolean hasText() {
    return !text.isEmpty();
  }

  /** Whether the event carries anything for a chunk: text, reasoning, tool-call pieces or logprobs. */
  boolean hasDelta() {
    return !text.isEmpty() || !reasoning.isEmpty() || !toolCalls.isEmpty() || !logprobs.isEmpty();
  }

  /** The proto finish reason for {@code finish_reason}; unknown values read as stop. */
  FinishReason protoFinishReason() {
    if (finishReason == null) {
      return FinishReason.FINISH_REASON_UNSPECIFIED;
    }
    return switch (finishReason) {
      case "length" -> FinishReason.FINISH_REASON_LENGTH;
      case "content_filter" -> FinishReason.FINISH_REASON_CONTENT_FILTER;
      case "tool_calls", "function_call" -> FinishReason.FINISH_REASON_TOOL_CALLS;
      default -> FinishReason.FINISH_REASON_STOP;
    };
  }

  /**
   * Parses one JSON object.
   *
   * @throws IOException if {@code json} is not a JSON object
   */
  static OpenAiEvent parse(String json) throws IOException {
    return parse(JSON.createParser(json));
  }

  /** Parses one JSON object from UTF-8 bytes ({@code [0, length)} of {@code json}). */
  static OpenAiEvent parse(byte[] json, int length) throws IOException {
    return parse(JSON.createParser(json, 0, length));
  }

  private static OpenAiEvent parse(JsonParser parser) throws IOException {
    try (JsonParser p = parser) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      Builder b = new Builder();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        switch (field) {
          case "id" -> b.id = text(p, value);
          case "model" -> b.model = text(p, value);
          case "object" -> b.errorObject = "error".equals(text(p, value));
          case "message" -> b.topMessage = text(p, value);
          case "type" -> b.topType = text(p, value);
          case "code" -> b.topCode = text(p, value);
          case "choices" -> readChoices(p, value, b);
          case "usage" -> b.usage = readUsage(p, value);
          case "error" -> b.error = readError(p, value);
          default -> p.skipChildren();
        }
      }
      if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw new IOException("malformed JSON object");
      }
      if (b.error == null && b.errorObject) {
        b.error = new OpenAiError(b.topMessage, b.topType, b.topCode);
      }
      return new OpenAiEvent(b.id, b.model, b.text == null ? "" : b.text, b.finishReason, b.usage, b.error,
          b.reasoning == null ? "" : b.reasoning, b.toolCalls == null ? List.of() : b.toolCalls,
          b.logprobs == null ? List.of() : b.logprobs);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException("malformed JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static void readChoices(JsonParser p, JsonToken value, Builder b) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return;
    }
    boolean first = true;
    while (p.nextToken() == JsonToken.START_OBJECT) {
      if (!first) {
        p.skipChildren();
        continue;
      }
      first = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        switch (field) {
          case "text" -> b.text = text(p, v);
          case "finish_reason" -> b.finishReason = text(p, v);
          case "delta", "message" -> readContent(p, v, b);
          case "logprobs" -> b.logprobs = OpenAiLogprobs.read(p, v);
          default -> p.skipChildren();
        }
      }
    }
  }

  private static void readContent(JsonParser p, JsonToken value, Builder b) throws IOException {
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "content" -> b.text = text(p, v);
        case "reasoning_content", "reasoning" -> {
          String reasoning = text(p, v);
          if (reasoning != null) {
            b.reasoning = reasoning;
          }
        }
        case "tool_calls" -> b.toolCalls = readToolCalls(p, v);
        default -> p.skipChildren();
      }
    }
  }

  /** {@code [{"index", "id", "type", "function": {"name", "arguments"}}]}; index defaults to position. */
  private static List<ToolCallDelta> readToolCalls(JsonParser p, JsonToken value) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return null;
    }
    List<ToolCallDelta> calls = new ArrayList<>(1);
    while (p.nextToken() == JsonToken.START_OBJECT) {
      ToolCallDelta.Builder call = ToolCallDelta.newBuilder().setIndex(calls.size());
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        switch (field) {
          case "index" -> call.setIndex(count(p, v));
          case "id" -> call.setId(orEmpty(text(p, v)));
          case "function" -> {
            if (v != JsonToken.START_OBJECT) {
              p.skipChildren();
              continue;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String f = p.currentName();
              JsonToken fv = p.nextToken();
              switch (f) {
                case "name" -> call.setName(orEmpty(text(p, fv)));
                case "arguments" -> call.setArguments(fv == JsonToken.START_OBJECT
                    ? p.readValueAsTree().toString() : orEmpty(text(p, fv)));
                default -> p.skipChildren();
              }
            }
          }
          default -> p.skipChildren();
        }
      }
      calls.add(call.build());
    }
    return calls;
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private static Usage readUsage(JsonParser p, JsonToken value) throws IOException {
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return null;
    }
    Usage.Builder usage = Usage.newBuilder();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "prompt_tokens" -> usage.setPromptTokens(count(p, v));
        case "completion_tokens" -> usage.setCompletionTokens(count(p, v));
        case "total_tokens" -> usage.setTotalTokens(count(p, v));
        case "prompt_tokens_details" -> usage.setCachedPromptTokens(detail(p, v, "cached_tokens"));
        case "completion_tokens_details" -> usage.setReasoningTokens(detail(p, v, "reasoning_tokens"));
        case "reasoning_tokens" -> usage.setReasoningTokens(count(p, v)); // some engines put it at the top
        default -> p.skipChildren();
      }
    }
    if (usage.getTotalTokens() == 0) {
      usage.setTotalTokens(usage.getPromptTokens() + usage.getCompletionTokens());
    }
    return usage.build();
  }

  /** One count of a {@code *_tokens_details} object, 0 when absent or null. */
  private static int detail(JsonParser p, JsonToken value, String name) throws IOException {
    int n = 0;
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return n;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      if (field.equals(name)) {
        n = count(p, v);
      } else {
        p.skipChildren();
      }
    }
    return n;
  }

  private static OpenAiError readError(JsonParser p, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_STRING) {
      return new OpenAiError(p.getText(), null, null);
    }
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return value == JsonToken.VALUE_NULL ? null : new OpenAiError(null, null, null);
    }
    String message = null;
    String type = null;
    String code = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "message" -> message = text(p, v);
        case "type" -> type = text(p, v);
        case "code" -> code = text(p, v);
        default -> p.skipChildren();
      }
    }
    return new OpenAiError(message, type, code);
  }

  private static String text(JsonParser p, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value.isScalarValue()) {
      return p.getText();
    }
    p.skipChildren();
    return null;
  }

  private static int count(JsonParser p, JsonToken value) throws IOException {
    if (value != JsonToken.VALUE_NUMBER_INT) {
      p.skipChildren();
      return 0;
    }
    long n = p.getLongValue();
    return (int) Math.max(0, Math.min(Integer.MAX_VALUE, n));
  }

  private static final class Builder {
    String id;
    String model;
    String text;
    String finishReason;
    Usage usage;
    OpenAiError error;
    boolean errorObject;
    String topMessage;
    String topType;
    String topCode;
    String reasoning;
    List<ToolCallDelta> toolCalls;
    List<TokenLogprob> logprobs;
  }
}
