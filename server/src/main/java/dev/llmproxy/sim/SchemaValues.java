package dev.llmproxy.sim;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.openai.StructJson;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes a JSON value that validates against a JSON schema, chosen deterministically by a seeded
 * random source: the simulated backend's tool-call arguments and structured answers.
 *
 * <p>Understood: {@code type} (one name or a list, of which the first that is not null is taken),
 * {@code const}, {@code enum}, {@code properties} (every property is written, so {@code required}
 * holds), {@code items} with {@code minItems}/{@code maxItems}, {@code minimum}/{@code maximum},
 * {@code minLength}/{@code maxLength}, and {@code anyOf}/{@code oneOf} (the first choice). A schema
 * without a type is answered with a string. {@code $ref}, {@code pattern} and {@code format} are
 * not understood: schemas that rely on them get values of the right type only.
 */
final class SchemaValues {
  private static final JsonFactory JSON = new JsonFactory();
  private static final String[] WORDS = {"alpha", "bravo", "delta", "echo", "harbor", "lantern", "meadow",
      "river", "signal", "stone"};
  private static final int MAX_DEPTH = 8;

  private final SplittableRandom random;

  SchemaValues(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** A JSON text valid under {@code schema}. */
  String json(Struct schema) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      write(g, schema, 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString();
  }

  private void write(JsonGenerator g, Struct schema, int depth) throws IOException {
    Map<String, Value> s = schema.getFieldsMap();
    if (s.containsKey("const")) {
      writeValue(g, s.get("const"));
      return;
    }
    if (s.containsKey("enum") && s.get("enum").getListValue().getValuesCount() > 0) {
      List<Value> options = s.get("enum").getListValue().getValuesList();
      writeValue(g, options.get(random.nextInt(options.size())));
      return;
    }
    for (String choice : new String[] {"anyOf", "oneOf", "allOf"}) {
      Value options = s.get(choice);
      if (options != null && options.getListValue().getValuesCount() > 0) {
        write(g, options.getListValue().getValues(0).getStructValue(), depth + 1);
        return;
      }
    }
    switch (type(s)) {
      case "object" -> {
        g.writeStartObject();
        Struct properties = s.containsKey("properties") ? s.get("properties").getStructValue() : null;
        if (properties != null && depth < MAX_DEPTH) {
          // sorted, so the same schema gives the same value whatever order its properties came in
          for (Map.Entry<String, Value> property : new TreeMap<>(properties.getFieldsMap()).entrySet()) {
            g.writeFieldName(property.getKey());
            write(g, property.getValue().getStructValue(), depth + 1);
          }
        }
        g.writeEndObject();
      }
      case "array" -> {
        int min = (int) number(s, "minItems", 1);
        int max = (int) Math.max(min, number(s, "maxItems", min + 1));
        int count = min + random.nextInt(Math.min(max, min + 2) - min + 1);
        Struct items = s.containsKey("items") ? s.get("items").getStructValue() : Struct.getDefaultInstance();
        g.writeStartArray();
        for (int i = 0; i < count && depth < MAX_DEPTH; i++) {
          write(g, items, depth + 1);
        }
        g.writeEndArray();
      }
      case "integer" -> {
        long min = (long) Math.ceil(number(s, "minimum", 0));
        long max = (long) Math.floor(number(s, "maximum", min + 100));
        g.writeNumber(max <= min ? min : min + random.nextLong(max - min + 1));
      }
      case "number" -> {
        double min = number(s, "minimum", 0);
        double max = number(s, "maximum", min + 100);
        g.writeNumber(Math.round((min + random.nextDouble() * Math.max(0, max - min)) * 100) / 100.0);
      }
      case "boolean" -> g.writeBoolean(random.nextBoolean());
      case "null" -> g.writeNull();
      default -> {
        StringBuilder text = new StringBuilder(WORDS[random.nextInt(WORDS.length)]);
        int minLength = (int) number(s, "minLength", 0);
        while (text.length() < minLength) {
          text.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
        }
        int maxLength = (int) number(s, "maxLength", Integer.MAX_VALUE);
        g.writeString(text.length() > maxLength ? text.substring(0, maxLength) : text.toString());
      }
    }
  }

  private static String type(Map<String, Value> schema) {
    Value type = schema.get("type");
    if (type == null) {
      return schema.containsKey("properties") ? "object" : "string";
    }
    if (type.hasListValue()) {
      for (Value t : type.getListValue().getValuesList()) {
        if (!t.getStringValue().equals("null")) {
          return t.getStringValue();
        }
      }
      return "null";
    }
    return type.getStringValue();
  }

  private static double number(Map<String, Value> schema, String field, double otherwise) {
    Value v = schema.get(field);
    return v != null && v.hasNumberValue() ? v.getNumberValue() : otherwise;
  }

  private static void writeValue(JsonGenerator g, Value value) throws IOException {
    StructJson.write(g, value);
  }
}
