package dev.llmproxy.sim.openai;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.sim.openai.OpenAiRequest.Endpoint;
import com.google.protobuf.Struct;
import dev.llmproxy.openai.StructJson;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonObjectFormat;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.TextFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * Reads the JSON body of {@code /v1/chat/completions} and {@code /v1/completions} into an {@link
 * OpenAiRequest}. Fields it does not know are ignored, as engines do. Type errors name the field;
 * range checks are left to the simulated call, which applies the same ones as the gRPC backend.
 *
 * <p>Chat message content may be a string, null, or an array of content parts: text parts alone are
 * joined into the content; with an {@code image_url} part the parts are kept as parts. Assistant
 * {@code tool_calls}, a tool message's {@code tool_call_id}, {@code tools}, {@code tool_choice},
 * {@code parallel_tool_calls}, {@code response_format}, {@code logprobs} (a boolean for chat, a number
 * of alternatives for completions), {@code top_logprobs} and {@code user} are read into their fields;
 * any other top-level field lands in {@code extra}, so tests can see what engine parameters arrived.
 * {@code prompt} may be a string or an array of one string.
 */
final class OpenAiRequestParser {
  /** The top-level fields read into their own fields; every other one goes to {@code extra}. */
  private static final Set<String> KNOWN = Set.of("model", "messages", "prompt", "max_tokens",
      "max_completion_tokens", "temperature", "top_p", "stop", "seed", "stream", "stream_options", "n",
      "tools", "tool_choice", "parallel_tool_calls", "response_format", "logprobs", "top_logprobs", "user",
      "metadata", "store");

  private final ObjectMapper json;

  OpenAiRequestParser(ObjectMapper json) {
    this.json = json;
  }

  OpenAiRequest parse(Endpoint endpoint, InputStream body) throws InvalidRequestException {
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JacksonException e) {
      throw new InvalidRequestException(
          "The request body is not valid JSON: " + e.getOriginalMessage(), null);
    } catch (IOException e) {
      throw new InvalidRequestException("The request body could not be read", null);
    }
    if (root == null || !root.isObject()) {
      throw new InvalidRequestException("The request body must be a JSON object", null);
    }
    CompletionRequest.Builder request = CompletionRequest.newBuilder();
    String model = text(root, "model");
    if (model != null) {
      request.setModel(model);
    }
    if (endpoint == Endpoint.CHAT) {
      readMessages(root, request);
    } else {
      readPrompt(root, request);
    }
    Long maxTokens = integer(root, "max_tokens");
    if (maxTokens == null) {
      maxTokens = integer(root, "max_completion_tokens");
    }
    if (maxTokens != null) {
      request.setMaxTokens((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, maxTokens)));
    }
    Double temperature = number(root, "temperature");
    if (temperature != null) {
      request.setTemperature(temperature.floatValue());
    }
    Double topP = number(root, "top_p");
    if (topP != null) {
      request.setTopP(topP.floatValue());
    }
    readStop(root, request);
    Long seed = integer(root, "seed");
    if (seed != null) {
      request.setSeed(seed);
    }
    if (endpoint == Endpoint.CHAT) {
      readTools(root, request);
    }
    readFormatAndLogprobs(endpoint, root, request);
    Boolean stream = bool(root, "stream");
    boolean includeUsage = false;
    JsonNode options = present(root, "stream_options");
    if (options != null) {
      if (!options.isObject()) {
        throw typeError("stream_options", "an object");
      }
      Boolean include = bool(options, "include_usage");
      includeUsage = include != null && include;
    }
    return new OpenAiRequest(endpoint, request.build(), stream != null && stream, includeUsage);
  }

  private static void readMessages(JsonNode root, CompletionRequest.Builder request)
      throws InvalidRequestException {
    JsonNode messages = present(root, "messages");
    if (messages == null) {
      throw new InvalidRequestException("messages: missing (expected: a list of messages)", "messages");
    }
    if (!messages.isArray() || messages.isEmpty()) {
      throw typeError("messages", "a non-empty list of messages");
    }
    for (int i = 0; i < messages.size(); i++) {
      JsonNode message = messages.get(i);
      String field = "messages[" + i + "]";
      if (!message.isObject()) {
        throw typeError(field, "an object with role and content");
      }
      String role = text(message, "role");
      if (role == null) {
        throw new InvalidRequestException(field + ".role: missing (expected: a string)", field + ".role");
      }
      Message.Builder m = Message.newBuilder().setRole(role);
      content(message.get("content"), field + ".content", m);
      String toolCallId = text(message, "tool_call_id");
      if (toolCallId != null) {
        m.setToolCallId(toolCallId);
      }
      JsonNode calls = present(message, "tool_calls");
      if (calls != null) {
        if (!calls.isArray()) {
          throw typeError(field + ".tool_calls", "a list of tool calls");
        }
        for (JsonNode call : calls) {
          JsonNode function = call.path("function");
          m.addToolCalls(ToolCall.newBuilder().setId(call.path("id").asText(""))
              .setFunction(FunctionCall.newBuilder().setName(function.path("name").asText(""))
                  .setArguments(function.path("arguments").asText(""))));
        }
      }
      request.addMessages(m);
    }
  }

  private static void content(@Nullable JsonNode content, String field, Message.Builder message)
      throws InvalidRequestException {
    if (content == null || content.isNull()) {
      return;
    }
    if (content.isTextual()) {
      message.setContent(content.textValue());
      return;
    }
    if (!content.isArray()) {
      throw typeError(field, "a string or a list of content parts");
    }
    StringBuilder text = new StringBuilder();
    boolean images = false;
    for (JsonNode part : content) {
      String type = part.path("type").asText();
      if (type.equals("text") && part.path("text").isTextual()) {
        text.append(part.get("text").textValue());
        message.addParts(ContentPart.newBuilder().setText(part.get("text").textValue()));
      } else if (type.equals("image_url")) {
        JsonNode image = part.path("image_url");
        String url = image.isTextual() ? image.textValue() : image.path("url").asText("");
        if (url.isEmpty()) {
          throw typeError(field + ".image_url.url", "a URL");
        }
        images = true;
        message.addParts(ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl(url)
            .setDetail(image.path("detail").asText(""))));
      }
    }
    if (!images) {
      message.clearParts().setContent(text.toString());
    }
  }

  private static void readTools(JsonNode root, CompletionRequest.Builder request) throws InvalidRequestException {
    JsonNode tools = present(root, "tools");
    if (tools != null) {
      if (!tools.isArray()) {
        throw typeError("tools", "a list of tools");
      }
      for (int i = 0; i < tools.size(); i++) {
        JsonNode function = tools.get(i).path("function");
        if (!function.path("name").isTextual()) {
          throw typeError("tools[" + i + "].function.name", "a string");
        }
        FunctionDefinition.Builder f = FunctionDefinition.newBuilder().setName(function.get("name").textValue())
            .setDescription(function.path("description").asText(""))
            .setStrict(function.path("strict").asBoolean(false));
        if (function.path("parameters").isObject()) {
          f.setParameters(StructJson.struct(function.get("parameters")));
        }
        request.addTools(Tool.newBuilder().setFunction(f));
      }
    }
    JsonNode choice = present(root, "tool_choice");
    if (choice != null) {
      if (choice.isTextual()) {
        ToolChoiceMode mode = switch (choice.textValue()) {
          case "auto" -> ToolChoiceMode.TOOL_CHOICE_MODE_AUTO;
          case "none" -> ToolChoiceMode.TOOL_CHOICE_MODE_NONE;
          case "required" -> ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED;
          default -> throw typeError("tool_choice", "auto, none, required or a function");
        };
        request.setToolChoice(ToolChoice.newBuilder().setMode(mode));
      } else if (choice.path("function").path("name").isTextual()) {
        request.setToolChoice(ToolChoice.newBuilder()
            .setFunctionName(choice.get("function").get("name").textValue()));
      } else {
        throw typeError("tool_choice", "auto, none, required or a function");
      }
    }
    Boolean parallel = bool(root, "parallel_tool_calls");
    if (parallel != null) {
      request.setParallelToolCalls(parallel);
    }
  }

  private static void readFormatAndLogprobs(Endpoint endpoint, JsonNode root, CompletionRequest.Builder request)
      throws InvalidRequestException {
    JsonNode format = present(root, "response_format");
    if (format != null) {
      switch (format.path("type").asText("")) {
        case "text" -> request.setResponseFormat(ResponseFormat.newBuilder().setText(TextFormat.getDefaultInstance()));
        case "json_object" -> request.setResponseFormat(
            ResponseFormat.newBuilder().setJsonObject(JsonObjectFormat.getDefaultInstance()));
        case "json_schema" -> {
          JsonNode schema = format.path("json_schema");
          if (!schema.path("schema").isObject()) {
            throw typeError("response_format.json_schema.schema", "a JSON schema object");
          }
          request.setResponseFormat(ResponseFormat.newBuilder().setJsonSchema(JsonSchemaFormat.newBuilder()
              .setName(schema.path("name").asText("")).setDescription(schema.path("description").asText(""))
              .setSchema(StructJson.struct(schema.get("schema"))).setStrict(schema.path("strict").asBoolean(false))));
        }
        default -> throw typeError("response_format.type", "text, json_object or json_schema");
      }
    }
    JsonNode logprobs = present(root, "logprobs");
    if (logprobs != null) {
      if (endpoint == Endpoint.CHAT) {
        request.setLogprobs(Boolean.TRUE.equals(bool(root, "logprobs")));
        Long top = integer(root, "top_logprobs");
        request.setTopLogprobs(top == null ? 0 : (int) Math.max(0, Math.min(20, top)));
      } else {
        Long top = integer(root, "logprobs"); // the legacy API: how many alternatives
        request.setLogprobs(true).setTopLogprobs((int) Math.max(0, Math.min(20, top)));
      }
    }
    String user = text(root, "user");
    if (user != null) {
      request.setUser(user);
    }
    Struct.Builder extra = Struct.newBuilder();
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      if (!KNOWN.contains(field.getKey())) {
        extra.putFields(field.getKey(), StructJson.value(field.getValue()));
      }
    }
    if (extra.getFieldsCount() > 0) {
      request.setExtra(extra);
    }
  }

  private static void readPrompt(JsonNode root, CompletionRequest.Builder request)
      throws InvalidRequestException {
    JsonNode prompt = present(root, "prompt");
    if (prompt == null) {
      throw new InvalidRequestException("prompt: missing (expected: a string)", "prompt");
    }
    if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
      prompt = prompt.get(0);
    }
    if (!prompt.isTextual()) {
      throw typeError("prompt", "a string");
    }
    request.setPrompt(prompt.textValue());
  }

  private static void readStop(JsonNode root, CompletionRequest.Builder request)
      throws InvalidRequestException {
    JsonNode stop = present(root, "stop");
    if (stop == null) {
      return;
    }
    if (stop.isTextual()) {
      request.addStop(stop.textValue());
      return;
    }
    if (!stop.isArray()) {
      throw typeError("stop", "a string or a list of strings");
    }
    for (JsonNode s : stop) {
      if (!s.isTextual()) {
        throw typeError("stop", "a string or a list of strings");
      }
      request.addStop(s.textValue());
    }
  }

  /** The field's node, or null if it is absent or JSON null. */
  @Nullable
  private static JsonNode present(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value;
  }

  @Nullable
  private static String text(JsonNode node, String field) throws InvalidRequestException {
    JsonNode value = present(node, field);
    if (value == null) {
      return null;
    }
    if (!value.isTextual()) {
      throw typeError(field, "a string");
    }
    return value.textValue();
  }

  @Nullable
  private static Long integer(JsonNode node, String field) throws InvalidRequestException {
    JsonNode value = present(node, field);
    if (value == null) {
      return null;
    }
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw typeError(field, "an integer");
    }
    return value.longValue();
  }

  @Nullable
  private static Double number(JsonNode node, String field) throws InvalidRequestException {
    JsonNode value = present(node, field);
    if (value == null) {
      return null;
    }
    if (!value.isNumber()) {
      throw typeError(field, "a number");
    }
    return value.doubleValue();
  }

  @Nullable
  private static Boolean bool(JsonNode node, String field) throws InvalidRequestException {
    JsonNode value = present(node, field);
    if (value == null) {
      return null;
    }
    if (!value.isBoolean()) {
      throw typeError(field, "true or false");
    }
    return value.booleanValue();
  }

  private static InvalidRequestException typeError(String field, String expected) {
    return new InvalidRequestException(field + ": wrong type (expected: " + expected + ")", field);
  }
}
