package dev.llmproxy.client;

import dev.llmproxy.v1.JsonObjectFormat;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.TextFormat;
import java.util.Objects;

/**
 * Values of {@code response_format}: plain text, any JSON object, or JSON that validates against a
 * schema.
 *
 * <pre>{@code
 * request.setResponseFormat(ResponseFormats.jsonSchema("summary",
 *     "{\"type\": \"object\", \"properties\": {\"title\": {\"type\": \"string\"}}, \"required\": [\"title\"]}",
 *     true));
 * }</pre>
 */
public final class ResponseFormats {
  private ResponseFormats() {}

  /**
   * Plain text, the default.
   *
   * @return the format
   */
  public static ResponseFormat text() {
    return ResponseFormat.newBuilder().setText(TextFormat.getDefaultInstance()).build();
  }

  /**
   * Any valid JSON object.
   *
   * @return the format
   */
  public static ResponseFormat jsonObject() {
    return ResponseFormat.newBuilder().setJsonObject(JsonObjectFormat.getDefaultInstance()).build();
  }

  /**
   * JSON that validates against {@code jsonSchema}.
   *
   * @param name the schema's name (letters, digits, {@code _} and {@code -}, up to 64)
   * @param jsonSchema a JSON schema object
   * @param strict whether the upstream must follow the schema exactly (constrained decoding)
   * @return the format
   * @throws IllegalArgumentException if {@code jsonSchema} is not a JSON object
   */
  public static ResponseFormat jsonSchema(String name, String jsonSchema, boolean strict) {
    Objects.requireNonNull(name, "name");
    return ResponseFormat.newBuilder().setJsonSchema(JsonSchemaFormat.newBuilder().setName(name)
        .setSchema(Tools.json("jsonSchema", jsonSchema)).setStrict(strict)).build();
  }
}
