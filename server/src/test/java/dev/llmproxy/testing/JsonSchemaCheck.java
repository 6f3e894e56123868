package dev.llmproxy.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A small JSON-schema checker for tests: type, required, properties, additionalProperties: false,
 * enum, const, items, minItems/maxItems, minimum/maximum, minLength/maxLength. It lists what does not
 * validate, so a failing assertion says why.
 */
public final class JsonSchemaCheck {
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonSchemaCheck() {}

  /** The violations of {@code schema} by the JSON text {@code json}; empty when it validates. */
  public static List<String> violations(String json, Struct schema) {
    List<String> out = new ArrayList<>();
    JsonNode node;
    try {
      node = JSON.readTree(json);
    } catch (Exception e) {
      out.add("not JSON: " + e.getMessage());
      return out;
    }
    check("$", node, schema, out);
    return out;
  }

  private static void check(String at, JsonNode node, Struct schema, List<String> out) {
    Map<String, Value> s = schema.getFieldsMap();
    if (s.containsKey("const") && !matches(node, s.get("const"))) {
      out.add(at + ": not the const");
    }
    if (s.containsKey("enum") && s.get("enum").getListValue().getValuesList().stream().noneMatch(v -> matches(node, v))) {
      out.add(at + ": " + node + " not in enum");
    }
    String type = s.containsKey("type") ? s.get("type").getStringValue() : "";
    switch (type) {
      case "object" -> {
        if (!node.isObject()) {
          out.add(at + ": not an object");
          return;
        }
        Struct properties = s.containsKey("properties") ? s.get("properties").getStructValue() : Struct.getDefaultInstance();
        if (s.containsKey("required")) {
          for (Value name : s.get("required").getListValue().getValuesList()) {
            if (!node.has(name.getStringValue())) {
              out.add(at + ": missing required " + name.getStringValue());
            }
          }
        }
        node.properties().forEach(field -> {
          Value property = properties.getFieldsMap().get(field.getKey());
          if (property != null) {
            check(at + "." + field.getKey(), field.getValue(), property.getStructValue(), out);
          } else if (s.containsKey("additionalProperties") && !s.get("additionalProperties").getBoolValue()) {
            out.add(at + ": unexpected property " + field.getKey());
          }
        });
      }
      case "array" -> {
        if (!node.isArray()) {
          out.add(at + ": not an array");
          return;
        }
        if (node.size() < number(s, "minItems", 0) || node.size() > number(s, "maxItems", Double.MAX_VALUE)) {
          out.add(at + ": " + node.size() + " items out of bounds");
        }
        for (int i = 0; i < node.size() && s.containsKey("items"); i++) {
          check(at + "[" + i + "]", node.get(i), s.get("items").getStructValue(), out);
        }
      }
      case "string" -> {
        if (!node.isTextual()) {
          out.add(at + ": not a string");
        } else if (node.textValue().length() < number(s, "minLength", 0)
            || node.textValue().length() > number(s, "maxLength", Double.MAX_VALUE)) {
          out.add(at + ": length out of bounds");
        }
      }
      case "integer", "number" -> {
        if (type.equals("integer") ? !node.isIntegralNumber() : !node.isNumber()) {
          out.add(at + ": not an " + type);
        } else if (node.doubleValue() < number(s, "minimum", -Double.MAX_VALUE)
            || node.doubleValue() > number(s, "maximum", Double.MAX_VALUE)) {
          out.add(at + ": " + node + " out of bounds");
        }
      }
      case "boolean" -> {
        if (!node.isBoolean()) {
          out.add(at + ": not a boolean");
        }
      }
      default -> { }
    }
  }

  private static boolean matches(JsonNode node, Value value) {
    return switch (value.getKindCase()) {
      case STRING_VALUE -> node.isTextual() && node.textValue().equals(value.getStringValue());
      case NUMBER_VALUE -> node.isNumber() && node.doubleValue() == value.getNumberValue();
      case BOOL_VALUE -> node.isBoolean() && node.booleanValue() == value.getBoolValue();
      default -> false;
    };
  }

  private static double number(Map<String, Value> s, String field, double otherwise) {
    return s.containsKey(field) ? s.get(field).getNumberValue() : otherwise;
  }
}
