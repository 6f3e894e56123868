package dev.llmproxy.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.llmproxy.v1.ToolCall;
import java.io.IOException;
import java.util.List;

/**
 * Writes whole tool calls in the OpenAI shape, {@code "tool_calls": [{"id", "type": "function",
 * "function": {"name", "arguments"}}]}: an assistant message's earlier calls (in a request) and a
 * whole answer's calls (in a response).
 */
public final class ToolCallsJson {
  private ToolCallsJson() {}

  /** Writes the {@code tool_calls} field with {@code calls}. */
  public static void write(JsonGenerator g, List<ToolCall> calls) throws IOException {
    g.writeArrayFieldStart("tool_calls");
    for (ToolCall call : calls) {
      g.writeStartObject();
      g.writeStringField("id", call.getId());
      g.writeStringField("type", "function");
      g.writeObjectFieldStart("function");
      g.writeStringField("name", call.getFunction().getName());
      g.writeStringField("arguments", call.getFunction().getArguments());
      g.writeEndObject();
      g.writeEndObject();
    }
    g.writeEndArray();
  }
}
