package dev.llmproxy.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.io.IOException;
import java.util.Map;

/**
 * Converts between {@code google.protobuf.Struct} (how the API carries JSON schemas and engine
 * parameters) and JSON as the OpenAI-compatible API writes it. Numbers are doubles in a Struct; one
 * with no fraction is written as an integer ({@code "minimum": 1}, not {@code 1.0}), as schemas and
 * engines expect.
 */
public final class StructJson {
  private static final double MAX_EXACT_LONG = 9.007199254740992E15; // 2^53

  private StructJson() {}

  /** Writes {@code struct} as a JSON object. */
  public static void write(JsonGenerator g, Struct struct) throws IOException {
    g.writeStartObject();
    for (Map.Entry<String, Value> field : struct.getFieldsMap().entrySet()) {
      g.writeFieldName(field.getKey());
      write(g, field.getValue());
    }
    g.writeEndObject();
  }

  /** Writes {@code value} as JSON; an unset value is written as null. */
  public static void write(JsonGenerator g, Value value) throws IOException {
    switch (value.getKindCase()) {
      case STRUCT_VALUE -> write(g, value.getStructValue());
      case LIST_VALUE -> {
        g.writeStartArray();
        for (Value item : value.getListValue().getValuesList()) {
          write(g, item);
        }
        g.writeEndArray();
      }
      case STRING_VALUE -> g.writeString(value.getStringValue());
      case BOOL_VALUE -> g.writeBoolean(value.getBoolValue());
      case NUMBER_VALUE -> {
        double d = value.getNumberValue();
        if (d == Math.rint(d) && Math.abs(d) <= MAX_EXACT_LONG) {
          g.writeNumber((long) d);
        } else {
          g.writeNumber(d);
        }
      }
      case NULL_VALUE, KIND_NOT_SET -> g.writeNull();
    }
  }

  /**
   * The Struct of a JSON object.
   *
   * @throws IllegalArgumentException if {@code object} is not a JSON object
   */
  public static Struct struct(JsonNode object) {
    if (!object.isObject()) {
      throw new IllegalArgumentException("not a JSON object");
    }
    Struct.Builder struct = Struct.newBuilder();
    for (Map.Entry<String, JsonNode> field : object.properties()) {
      struct.putFields(field.getKey(), value(field.getValue()));
    }
    return struct.build();
  }

  /** The Value of any JSON node. */
  public static Value value(JsonNode node) {
    if (node.isObject()) {
      return Value.newBuilder().setStructValue(struct(node)).build();
    }
    if (node.isArray()) {
      ListValue.Builder list = ListValue.newBuilder();
      node.forEach(item -> list.addValues(value(item)));
      return Value.newBuilder().setListValue(list).build();
    }
    if (node.isTextual()) {
      return Value.newBuilder().setStringValue(node.textValue()).build();
    }
    if (node.isBoolean()) {
      return Value.newBuilder().setBoolValue(node.booleanValue()).build();
    }
    if (node.isNumber()) {
      return Value.newBuilder().setNumberValue(node.doubleValue()).build();
    }
    return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
  }
}
