package dev.llmproxy.sim.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.llmproxy.sim.openai.OpenAiRequest.Endpoint;
import dev.llmproxy.openai.ToolCallsJson;
import dev.llmproxy.sim.AnswerScript;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.TopLogprob;
import dev.llmproxy.v1.Usage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.annotation.Nullable;

/**
 * Writes the OpenAI wire format: response bodies, server-sent events ({@code data: <json>\n\n}) and
 * error bodies, straight into Netty buffers with a streaming JSON generator.
 */
final class OpenAiEncoder {
  private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END_OF_EVENT = "\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MALFORMED = "data: {not json\n\n".getBytes(StandardCharsets.US_ASCII);

  private final JsonFactory json;
  private final ByteBufAllocator alloc;

  OpenAiEncoder(JsonFactory json, ByteBufAllocator alloc) {
    this.json = json;
    this.alloc = alloc;
  }

  /** What a completion answer has in common: id, object, created, model. */
  record Header(Endpoint endpoint, String id, long created, String model) {}

  /** {@code data: [DONE]}. */
  ByteBuf doneEvent() {
    return alloc.buffer(DONE.length).writeBytes(DONE);
  }

  /** An event whose data is not JSON. */
  ByteBuf malformedEvent() {
    return alloc.buffer(MALFORMED.length).writeBytes(MALFORMED);
  }

  /**
   * One streamed choice: a piece of the answer (text, {@code reasoning_content}, a {@code tool_calls}
   * piece, logprobs); the role on the first chat chunk; the finish reason on the last.
   */
  ByteBuf chunkEvent(Header header, AnswerScript.Piece piece, boolean first, @Nullable FinishReason finish) {
    return event(g -> {
      writeHeader(g, header, true);
      g.writeArrayFieldStart("choices");
      g.writeStartObject();
      g.writeNumberField("index", 0);
      List<TokenLogprob> logprobs = piece.logprob() == null ? List.of() : List.of(piece.logprob());
      if (header.endpoint() == Endpoint.CHAT) {
        g.writeObjectFieldStart("delta");
        if (first) {
          g.writeStringField("role", "assistant");
        }
        if (!piece.reasoning().isEmpty()) {
          g.writeStringField("reasoning_content", piece.reasoning());
        }
        if (piece.toolCall() != null) {
          ToolCallDelta call = piece.toolCall();
          g.writeArrayFieldStart("tool_calls");
          g.writeStartObject();
          g.writeNumberField("index", call.getIndex());
          if (!call.getId().isEmpty()) {
            g.writeStringField("id", call.getId());
            g.writeStringField("type", "function");
          }
          g.writeObjectFieldStart("function");
          if (!call.getName().isEmpty()) {
            g.writeStringField("name", call.getName());
          }
          g.writeStringField("arguments", call.getArguments());
          g.writeEndObject();
          g.writeEndObject();
          g.writeEndArray();
        } else if (piece.reasoning().isEmpty() || !piece.text().isEmpty()) {
          g.writeStringField("content", piece.text());
        }
        g.writeEndObject();
        writeChatLogprobs(g, logprobs);
      } else {
        g.writeStringField("text", piece.text());
        writeLegacyLogprobs(g, logprobs);
      }
      writeFinish(g, finish);
      g.writeEndObject();
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  /** The usage chunk that ends a stream when {@code stream_options.include_usage} is set. */
  ByteBuf usageEvent(Header header, Usage usage) {
    return event(g -> {
      writeHeader(g, header, true);
      g.writeArrayFieldStart("choices");
      g.writeEndArray();
      writeUsage(g, usage);
      g.writeEndObject();
    });
  }

  /** An error in the middle of a stream. */
  ByteBuf errorEvent(String message, String type, int code) {
    return event(g -> writeError(g, message, type, null, code));
  }

  /** A whole non-streamed answer. */
  ByteBuf completionBody(Header header, AnswerScript.Answer answer, FinishReason finish, Usage usage) {
    return body(g -> {
      writeHeader(g, header, false);
      g.writeArrayFieldStart("choices");
      g.writeStartObject();
      g.writeNumberField("index", 0);
      if (header.endpoint() == Endpoint.CHAT) {
        g.writeObjectFieldStart("message");
        g.writeStringField("role", "assistant");
        if (answer.toolCalls().isEmpty()) {
          g.writeStringField("content", answer.text());
        } else {
          g.writeNullField("content");
          ToolCallsJson.write(g, answer.toolCalls());
        }
        if (!answer.reasoning().isEmpty()) {
          g.writeStringField("reasoning_content", answer.reasoning());
        }
        g.writeEndObject();
        writeChatLogprobs(g, answer.logprobs());
      } else {
        g.writeStringField("text", answer.text());
        writeLegacyLogprobs(g, answer.logprobs());
      }
      writeFinish(g, finish);
      g.writeEndObject();
      g.writeEndArray();
      writeUsage(g, usage);
      g.writeEndObject();
    });
  }

  /**
   * An error body, {@code {"error":{"message","type","param","code"}}}.
   *
   * @param code a number, a string such as {@code "invalid_api_key"}, or null
   */
  ByteBuf errorBody(String message, String type, @Nullable String param, @Nullable Object code) {
    return body(g -> writeError(g, message, type, param, code));
  }

  /** The {@code /v1/models} list. */
  ByteBuf modelsBody(List<String> models, long created) {
    return body(g -> {
      g.writeStartObject();
      g.writeStringField("object", "list");
      g.writeArrayFieldStart("data");
      for (String model : models) {
        g.writeStartObject();
        g.writeStringField("id", model);
        g.writeStringField("object", "model");
        g.writeNumberField("created", created);
        g.writeStringField("owned_by", "llmproxy-sim");
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  private interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  private ByteBuf event(Writer writer) {
    ByteBuf buf = alloc.buffer(256);
    buf.writeBytes(DATA);
    write(buf, writer);
    return buf.writeBytes(END_OF_EVENT);
  }

  private ByteBuf body(Writer writer) {
    return write(alloc.buffer(256), writer);
  }

  private ByteBuf write(ByteBuf buf, Writer writer) {
    try (JsonGenerator g = json.createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
      writer.write(g);
    } catch (IOException e) {
      buf.release();
      throw new UncheckedIOException(e); // a heap buffer does not fail to grow with an IOException
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
    return buf;
  }

  private static void writeHeader(JsonGenerator g, Header header, boolean chunk) throws IOException {
    g.writeStartObject();
    g.writeStringField("id", header.id());
    g.writeStringField("object", chunk ? header.endpoint().chunkObject : header.endpoint().object);
    g.writeNumberField("created", header.created());
    g.writeStringField("model", header.model());
  }

  private static void writeFinish(JsonGenerator g, @Nullable FinishReason finish) throws IOException {
    if (finish == null) {
      g.writeNullField("finish_reason");
      return;
    }
    g.writeStringField("finish_reason", switch (finish) {
      case FINISH_REASON_LENGTH -> "length";
      case FINISH_REASON_TOOL_CALLS -> "tool_calls";
      case FINISH_REASON_CONTENT_FILTER -> "content_filter";
      default -> "stop";
    });
  }

  /** The chat API's {@code logprobs: {"content": [...]}}, or null when none were asked for. */
  private static void writeChatLogprobs(JsonGenerator g, List<TokenLogprob> logprobs) throws IOException {
    if (logprobs.isEmpty()) {
      g.writeNullField("logprobs");
      return;
    }
    g.writeObjectFieldStart("logprobs");
    g.writeArrayFieldStart("content");
    for (TokenLogprob token : logprobs) {
      g.writeStartObject();
      g.writeStringField("token", token.getToken());
      g.writeNumberField("logprob", token.getLogprob());
      writeBytes(g, token.getToken());
      g.writeArrayFieldStart("top_logprobs");
      for (TopLogprob top : token.getTopLogprobsList()) {
        g.writeStartObject();
        g.writeStringField("token", top.getToken());
        g.writeNumberField("logprob", top.getLogprob());
        writeBytes(g, top.getToken());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void writeBytes(JsonGenerator g, String token) throws IOException {
    g.writeArrayFieldStart("bytes");
    for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
      g.writeNumber(b & 0xff);
    }
    g.writeEndArray();
  }

  /** The legacy completions API's parallel lists, or null when none were asked for. */
  private static void writeLegacyLogprobs(JsonGenerator g, List<TokenLogprob> logprobs) throws IOException {
    if (logprobs.isEmpty()) {
      g.writeNullField("logprobs");
      return;
    }
    g.writeObjectFieldStart("logprobs");
    g.writeArrayFieldStart("tokens");
    for (TokenLogprob token : logprobs) {
      g.writeString(token.getToken());
    }
    g.writeEndArray();
    g.writeArrayFieldStart("token_logprobs");
    for (TokenLogprob token : logprobs) {
      g.writeNumber(token.getLogprob());
    }
    g.writeEndArray();
    g.writeArrayFieldStart("top_logprobs");
    for (TokenLogprob token : logprobs) {
      g.writeStartObject();
      for (TopLogprob top : token.getTopLogprobsList()) {
        g.writeNumberField(top.getToken(), top.getLogprob());
      }
      g.writeEndObject();
    }
    g.writeEndArray();
    g.writeEndObject();
  }

  private static void writeUsage(JsonGenerator g, Usage usage) throws IOException {
    g.writeObjectFieldStart("usage");
    g.writeNumberField("prompt_tokens", usage.getPromptTokens());
    g.writeNumberField("completion_tokens", usage.getCompletionTokens());
    g.writeNumberField("total_tokens", usage.getTotalTokens());
    if (usage.getReasoningTokens() > 0) {
      g.writeObjectFieldStart("completion_tokens_details");
      g.writeNumberField("reasoning_tokens", usage.getReasoningTokens());
      g.writeEndObject();
    }
    g.writeEndObject();
  }

  private static void writeError(
      JsonGenerator g, String message, String type, @Nullable String param, @Nullable Object code)
      throws IOException {
    g.writeStartObject();
    g.writeObjectFieldStart("error");
    g.writeStringField("message", message);
    g.writeStringField("type", type);
    g.writeStringField("param", param);
    if (code instanceof Number n) {
      g.writeNumberField("code", n.intValue());
    } else if (code != null) {
      g.writeStringField("code", code.toString());
    } else {
      g.writeNullField("code");
    }
    g.writeEndObject();
    g.writeEndObject();
  }
}
