package dev.llmproxy.client;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import java.util.Objects;

/**
 * Tools for a {@code CompletionRequest}: functions described by a JSON schema, the choices of
 * {@code tool_choice}, and the arguments of the calls the model makes, read back as JSON.
 *
 * <pre>{@code
 * CompletionRequest request = CompletionRequest.newBuilder()
 *     .addMessages(Messages.user("What's the weather in Oslo?"))
 *     .addTools(Tools.function("get_weather", "Current weather of a city",
 *         "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}"))
 *     .setToolChoice(Tools.required())
 *     .build();
 * for (ToolCall call : client.complete(request).getToolCallsList()) {
 *   String city = Tools.arguments(call).getFieldsOrThrow("city").getStringValue();
 * }
 * }</pre>
 */
public final class Tools {
  private Tools() {}

  /**
   * A function tool.
   *
   * @param name the function's name (letters, digits, {@code _} and {@code -}, up to 64)
   * @param description what the function does; the model reads it to decide when to call it
   * @param jsonSchema the arguments as a JSON schema object, e.g. {@code {"type": "object", ...}}
   * @return the tool
   * @throws IllegalArgumentException if {@code jsonSchema} is not a JSON object
   */
  public static Tool function(String name, String description, String jsonSchema) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(description, "description");
    return Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName(name)
        .setDescription(description).setParameters(json("jsonSchema", jsonSchema))).build();
  }

  /**
   * A function tool that takes no arguments.
   *
   * @param name the function's name
   * @param description what the function does
   * @return the tool
   */
  public static Tool function(String name, String description) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(description, "description");
    return Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName(name)
        .setDescription(description)).build();
  }

  /**
   * {@code tool_choice: auto}: the model decides whether to call tools.
   *
   * @return the choice
   */
  public static ToolChoice auto() {
    return ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_AUTO).build();
  }

  /**
   * {@code tool_choice: none}: the model answers with text.
   *
   * @return the choice
   */
  public static ToolChoice none() {
    return ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_NONE).build();
  }

  /**
   * {@code tool_choice: required}: the model calls at least one tool.
   *
   * @return the choice
   */
  public static ToolChoice required() {
    return ToolChoice.newBuilder().setMode(ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED).build();
  }

  /**
   * The model calls one function.
   *
   * @param name the function, one of the request's tools
   * @return the choice
   */
  public static ToolChoice function(String name) {
    return ToolChoice.newBuilder().setFunctionName(Objects.requireNonNull(name, "name")).build();
  }

  /**
   * The arguments of a tool call, parsed from the JSON the model wrote.
   *
   * @param call a call from {@code Completion.getToolCallsList()} or {@link CompletionAccumulator}
   * @return the arguments as a Struct: {@code getFieldsOrThrow("city").getStringValue()}
   * @throws IllegalArgumentException if they are not a JSON object (models do get it wrong: ask again,
   *     or tell the model in the tool result)
   */
  public static Struct arguments(ToolCall call) {
    String arguments = call.getFunction().getArguments();
    return json("arguments of tool call " + call.getId(), arguments.isBlank() ? "{}" : arguments);
  }

  /** Parses a JSON object into a Struct; {@code what} names it in the error. */
  static Struct json(String what, String json) {
    Objects.requireNonNull(json, what);
    Struct.Builder struct = Struct.newBuilder();
    try {
      JsonFormat.parser().merge(json, struct);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new IllegalArgumentException(what + ": not a JSON object (" + e.getMessage() + ")", e);
    }
    return struct.build();
  }
}
