package dev.llmproxy.sim.openai;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.sim.openai.OpenAiRequest.Endpoint;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.io.IOException;
import java.io.InputStream;
import javax.annotation.Nullable;

/**
 * Reads the JSON body of {@code /v1/chat/completions} and {@code /v1/completions} into an {@link
 * OpenAiRequest}. Fields it does not know are ignored, as engines do. Type errors name the field;
 * range checks are left to the simulated call, which applies the same ones as the gRPC backend.
 *
 * <p>Chat message content may be a string, null, or an array of content parts whose {@code text}
 * parts are joined; {@code prompt} may be a string or an array of one string.
 */
final class OpenAiRequestParser {
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
      request.addMessages(Message.newBuilder()
          .setRole(role)
          .setContent(content(message.get("content"), field + ".content")));
    }
  }

  private static String content(@Nullable JsonNode content, String field) throws InvalidRequestException {
    if (content == null || content.isNull()) {
      return "";
    }
    if (content.isTextual()) {
      return content.textValue();
    }
    if (!content.isArray()) {
      throw typeError(field, "a string or a list of content parts");
    }
    StringBuilder text = new StringBuilder();
    for (JsonNode part : content) {
      if (part.isObject() && "text".equals(part.path("type").asText()) && part.path("text").isTextual()) {
        text.append(part.get("text").textValue());
      }
    }
    return text.toString();
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
