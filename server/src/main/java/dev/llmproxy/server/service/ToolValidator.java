package dev.llmproxy.server.service;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;
import javax.annotation.Nullable;

/**
 * Checks what a request adds to plain generation: tools and tool_choice, response_format,
 * logprobs, engine parameters in {@code extra}, user and metadata. Returns the first problem as
 * "field: value (expected: ...)", or null.
 */
final class ToolValidator {
  static final int MAX_TOOLS = 128;
  static final int MAX_TOP_LOGPROBS = 20;
  static final int MAX_METADATA = 16;
  static final int MAX_USER_CHARS = 256;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  /** JSON fields the proxy writes itself; {@code extra} may not set them twice. */
  static final Set<String> RESERVED_EXTRA = Set.of("model", "messages", "prompt", "max_tokens",
      "max_completion_tokens", "temperature", "top_p", "stop", "seed", "stream", "stream_options", "n",
      "tools", "tool_choice", "parallel_tool_calls", "response_format", "logprobs", "top_logprobs", "user",
      "metadata");

  @Nullable
  String check(CompletionRequest request) {
    String problem = checkTools(request);
    if (problem == null) {
      problem = checkResponseFormat(request);
    }
    if (problem == null) {
      problem = checkRest(request);
    }
    return problem;
  }

  private static String toolAt(int i) {
    return "tools[" + i + "].function";
  }

  @Nullable
  private static String checkTools(CompletionRequest request) {
    if (request.getToolsCount() > 0 && request.getMessagesCount() == 0) {
      return "tools: set on a prompt request (expected: messages; tools are for chat)";
    }
    if (request.getToolsCount() > MAX_TOOLS) {
      return "tools: " + request.getToolsCount() + " tools (expected: at most " + MAX_TOOLS + ")";
    }
    if (request.getToolsCount() == 0 && !request.hasToolChoice()) {
      return null; // most requests: nothing to check, nothing to allocate
    }
    Set<String> names = request.getToolsCount() == 0 ? Set.of() : new HashSet<>();
    for (int i = 0; i < request.getToolsCount(); i++) {
      if (!request.getTools(i).hasFunction()) {
        return toolAt(i) + ": missing (expected: a function definition)";
      }
      FunctionDefinition f = request.getTools(i).getFunction();
      if (f.getName().isEmpty()) {
        return toolAt(i) + ".name: empty (expected: a name of letters, digits, _ and -, up to 64)";
      }
      if (!NAME.matcher(f.getName()).matches()) {
        return toolAt(i) + ".name: \"" + cut(f.getName()) + "\" (expected: letters, digits, _ and -, up to 64)";
      }
      if (!names.add(f.getName())) {
        return toolAt(i) + ".name: \"" + f.getName() + "\" twice (expected: unique tool names)";
      }
      if (f.hasParameters()) {
        String problem = checkObjectSchema(toolAt(i) + ".parameters", f.getParameters());
        if (problem != null) {
          return problem;
        }
      }
    }
    if (!request.hasToolChoice()) {
      return null;
    }
    ToolChoice choice = request.getToolChoice();
    switch (choice.getChoiceCase()) {
      case MODE -> {
        if (choice.getMode() == ToolChoiceMode.UNRECOGNIZED) {
          return "tool_choice.mode: " + choice.getModeValue() + " (expected: AUTO, NONE or REQUIRED)";
        }
        if (choice.getMode() == ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED && request.getToolsCount() == 0) {
          return "tool_choice.mode: REQUIRED without tools (expected: tools to choose from)";
        }
        return null;
      }
      case FUNCTION_NAME -> {
        if (!names.contains(choice.getFunctionName())) {
          return "tool_choice.function_name: \"" + cut(choice.getFunctionName())
              + "\" (expected: the name of one of the request's tools)";
        }
        return null;
      }
      default -> {
        return null;
      }
    }
  }

  @Nullable
  private static String checkResponseFormat(CompletionRequest request) {
    if (!request.getResponseFormat().hasJsonSchema()) {
      return null;
    }
    JsonSchemaFormat format = request.getResponseFormat().getJsonSchema();
    String at = "response_format.json_schema";
    if (!NAME.matcher(format.getName()).matches()) {
      return at + ".name: \"" + cut(format.getName()) + "\" (expected: letters, digits, _ and -, 1 to 64)";
    }
    if (!format.hasSchema()) {
      return at + ".schema: missing (expected: a JSON schema object)";
    }
    return checkObjectSchema(at + ".schema", format.getSchema());
  }

  /** Tool parameters and answer schemas describe JSON objects. */
  @Nullable
  private static String checkObjectSchema(String at, Struct schema) {
    Value type = schema.getFieldsOrDefault("type", null);
    if (type == null) {
      return schema.getFieldsCount() == 0 ? null
          : at + ".type: missing (expected: \"object\")";
    }
    if (!type.hasStringValue() || !type.getStringValue().equals("object")) {
      return at + ".type: " + describe(type) + " (expected: \"object\")";
    }
    Value properties = schema.getFieldsOrDefault("properties", null);
    if (properties != null && !properties.hasStructValue()) {
      return at + ".properties: " + describe(properties) + " (expected: an object of property schemas)";
    }
    return null;
  }

  @Nullable
  private static String checkRest(CompletionRequest request) {
    if (request.getTopLogprobs() < 0 || request.getTopLogprobs() > MAX_TOP_LOGPROBS) {
      return "top_logprobs: " + request.getTopLogprobs() + " (expected: 0 to " + MAX_TOP_LOGPROBS + ")";
    }
    if (request.getTopLogprobs() > 0 && !request.getLogprobs()) {
      return "top_logprobs: " + request.getTopLogprobs() + " without logprobs (expected: logprobs: true)";
    }
    for (String key : request.getExtra().getFieldsMap().keySet()) {
      if (RESERVED_EXTRA.contains(key)) {
        return "extra." + key + ": a field the API carries (expected: engine parameters the API has no"
            + " field for; set " + key + " itself)";
      }
    }
    if (request.getUser().length() > MAX_USER_CHARS) {
      return "user: " + request.getUser().length() + " characters (expected: at most " + MAX_USER_CHARS + ")";
    }
    if (request.getMetadataCount() > MAX_METADATA) {
      return "metadata: " + request.getMetadataCount() + " entries (expected: at most " + MAX_METADATA + ")";
    }
    for (var entry : request.getMetadataMap().entrySet()) {
      if (entry.getKey().isEmpty() || entry.getKey().length() > 64) {
        return "metadata: a key of " + entry.getKey().length() + " characters (expected: 1 to 64)";
      }
      if (entry.getValue().length() > 512) {
        return "metadata." + entry.getKey() + ": " + entry.getValue().length()
            + " characters (expected: at most 512)";
      }
    }
    return null;
  }

  private static String describe(Value value) {
    return switch (value.getKindCase()) {
      case STRING_VALUE -> "\"" + cut(value.getStringValue()) + "\"";
      case NUMBER_VALUE -> "a number";
      case BOOL_VALUE -> "a boolean";
      case LIST_VALUE -> "a list";
      case STRUCT_VALUE -> "an object";
      default -> "null";
    };
  }

  private static String cut(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }
}
