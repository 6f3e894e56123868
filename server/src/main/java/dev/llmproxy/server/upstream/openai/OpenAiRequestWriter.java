package dev.llmproxy.server.upstream.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.Value;
import dev.llmproxy.openai.StructJson;
import dev.llmproxy.openai.ToolCallsJson;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolChoice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.Map;

/**
 * Turns a {@link CompletionRequest} into the JSON body of an OpenAI-compatible request:
 * {@code messages} for {@code /chat/completions}, {@code prompt} for {@code /completions}. The
 * request always streams, with {@code stream_options.include_usage}, so both RPCs are served from
 * the same stream (stall detection and failover work alike). Sampling fields, stop and seed map one
 * to one; unset optional fields are left out so the engine's defaults apply.
 *
 * <p>Chat messages carry content parts ({@code text}, {@code image_url}; inline image bytes become a
 * {@code data:} URL), the assistant's earlier {@code tool_calls} and a tool result's
 * {@code tool_call_id}. Tools, tool_choice, parallel_tool_calls, response_format, logprobs and user
 * take their OpenAI shapes; {@code extra}'s fields become top-level fields (vLLM's and SGLang's extra
 * body). {@code metadata} stays with the proxy: engines have no use for it.
 */
final class OpenAiRequestWriter {
  private static final JsonFactory JSON = new JsonFactory();

  private OpenAiRequestWriter() {}

  /** Whether the request goes to {@code /chat/completions} (messages) rather than {@code /completions}. */
  static boolean isChat(CompletionRequest request) {
    return request.getMessagesCount() > 0;
  }

  /**
   * The request body.
   *
   * @param model the model name to send upstream
   */
  static byte[] body(CompletionRequest request, String model) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + request.getSerializedSize() * 2);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      if (!model.isEmpty()) {
        g.writeStringField("model", model); // without one, engines serving a single model use it
      }
      if (isChat(request)) {
        g.writeArrayFieldStart("messages");
        for (Message message : request.getMessagesList()) {
          writeMessage(g, message);
        }
        g.writeEndArray();
        writeTools(g, request);
      } else {
        g.writeStringField("prompt", request.getPrompt());
      }
      if (request.getMaxTokens() > 0) {
        g.writeNumberField("max_tokens", request.getMaxTokens());
      }
      if (request.hasTemperature()) {
        g.writeNumberField("temperature", request.getTemperature());
      }
      if (request.hasTopP()) {
        g.writeNumberField("top_p", request.getTopP());
      }
      if (request.getStopCount() > 0) {
        g.writeArrayFieldStart("stop");
        for (String stop : request.getStopList()) {
          g.writeString(stop);
        }
        g.writeEndArray();
      }
      if (request.hasSeed()) {
        g.writeNumberField("seed", request.getSeed());
      }
      writeResponseFormat(g, request.getResponseFormat());
      if (request.getLogprobs()) {
        if (isChat(request)) {
          g.writeBooleanField("logprobs", true);
          if (request.getTopLogprobs() > 0) {
            g.writeNumberField("top_logprobs", request.getTopLogprobs());
          }
        } else {
          g.writeNumberField("logprobs", request.getTopLogprobs()); // the legacy API: an int
        }
      }
      if (!request.getUser().isEmpty()) {
        g.writeStringField("user", request.getUser());
      }
      for (Map.Entry<String, Value> field : request.getExtra().getFieldsMap().entrySet()) {
        g.writeFieldName(field.getKey()); // the validator keeps out names written above
        StructJson.write(g, field.getValue());
      }
      g.writeBooleanField("stream", true);
      g.writeObjectFieldStart("stream_options");
      g.writeBooleanField("include_usage", true);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }

  private static void writeMessage(JsonGenerator g, Message message) throws IOException {
    g.writeStartObject();
    g.writeStringField("role", message.getRole());
    if (message.getPartsCount() > 0) {
      g.writeArrayFieldStart("content");
      for (ContentPart part : message.getPartsList()) {
        writePart(g, part);
      }
      g.writeEndArray();
    } else if (message.getContent().isEmpty() && message.getToolCallsCount() > 0) {
      g.writeNullField("content"); // an assistant turn that only called tools
    } else {
      g.writeStringField("content", message.getContent());
    }
    if (message.getToolCallsCount() > 0) {
      ToolCallsJson.write(g, message.getToolCallsList());
    }
    if (!message.getToolCallId().isEmpty()) {
      g.writeStringField("tool_call_id", message.getToolCallId());
    }
    g.writeEndObject();
  }

  private static void writePart(JsonGenerator g, ContentPart part) throws IOException {
    g.writeStartObject();
    if (part.hasImage()) {
      ImagePart image = part.getImage();
      g.writeStringField("type", "image_url");
      g.writeObjectFieldStart("image_url");
      if (image.hasData()) {
        g.writeStringField("url", "data:" + image.getMediaType() + ";base64,"
            + Base64.getEncoder().encodeToString(image.getData().toByteArray()));
      } else {
        g.writeStringField("url", image.getUrl());
      }
      if (!image.getDetail().isEmpty()) {
        g.writeStringField("detail", image.getDetail());
      }
      g.writeEndObject();
    } else {
      g.writeStringField("type", "text");
      g.writeStringField("text", part.getText());
    }
    g.writeEndObject();
  }

  private static void writeTools(JsonGenerator g, CompletionRequest request) throws IOException {
    if (request.getToolsCount() > 0) {
      g.writeArrayFieldStart("tools");
      for (Tool tool : request.getToolsList()) {
        FunctionDefinition f = tool.getFunction();
        g.writeStartObject();
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", f.getName());
        if (!f.getDescription().isEmpty()) {
          g.writeStringField("description", f.getDescription());
        }
        if (f.hasParameters()) {
          g.writeFieldName("parameters");
          StructJson.write(g, f.getParameters());
        }
        if (f.getStrict()) {
          g.writeBooleanField("strict", true);
        }
        g.writeEndObject();
        g.writeEndObject();
      }
      g.writeEndArray();
    }
    ToolChoice choice = request.getToolChoice();
    switch (choice.getChoiceCase()) {
      case MODE -> {
        switch (choice.getMode()) {
          case TOOL_CHOICE_MODE_AUTO -> g.writeStringField("tool_choice", "auto");
          case TOOL_CHOICE_MODE_NONE -> g.writeStringField("tool_choice", "none");
          case TOOL_CHOICE_MODE_REQUIRED -> g.writeStringField("tool_choice", "required");
          default -> { } // unspecified: the engine's default
        }
      }
      case FUNCTION_NAME -> {
        g.writeObjectFieldStart("tool_choice");
        g.writeStringField("type", "function");
        g.writeObjectFieldStart("function");
        g.writeStringField("name", choice.getFunctionName());
        g.writeEndObject();
        g.writeEndObject();
      }
      default -> { }
    }
    if (request.hasParallelToolCalls()) {
      g.writeBooleanField("parallel_tool_calls", request.getParallelToolCalls());
    }
  }

  private static void writeResponseFormat(JsonGenerator g, ResponseFormat format) throws IOException {
    switch (format.getFormatCase()) {
      case TEXT -> {
        g.writeObjectFieldStart("response_format");
        g.writeStringField("type", "text");
        g.writeEndObject();
      }
      case JSON_OBJECT -> {
        g.writeObjectFieldStart("response_format");
        g.writeStringField("type", "json_object");
        g.writeEndObject();
      }
      case JSON_SCHEMA -> {
        JsonSchemaFormat schema = format.getJsonSchema();
        g.writeObjectFieldStart("response_format");
        g.writeStringField("type", "json_schema");
        g.writeObjectFieldStart("json_schema");
        g.writeStringField("name", schema.getName());
        if (!schema.getDescription().isEmpty()) {
          g.writeStringField("description", schema.getDescription());
        }
        g.writeFieldName("schema");
        StructJson.write(g, schema.getSchema());
        g.writeBooleanField("strict", schema.getStrict());
        g.writeEndObject();
        g.writeEndObject();
      }
      default -> { }
    }
  }
}
