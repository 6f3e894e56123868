package dev.llmproxy.server.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Takes secrets out of a config tree before it is shown: fields whose names say they hold one
 * (key hashes, passwords, tokens) become {@code "<redacted>"}, and a password in a URI's user info
 * is cut out. References to secrets ({@code {env: NAME}}, {@code {file: PATH}}) stay: they name
 * where a secret is, not what it is.
 */
final class Redaction {
  static final String REDACTED = "<redacted>";
  private static final Pattern SECRET_FIELD = Pattern.compile("sha256|password|passwd|secret|token|plaintext.*");
  private static final Pattern URI_PASSWORD = Pattern.compile("^([a-z][a-z0-9+.-]*://)([^/@]*)@");

  private Redaction() {}

  static JsonNode redact(JsonNode node) {
    if (node instanceof ObjectNode object) {
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
      object.fields().forEachRemaining(fields::add);
      for (Map.Entry<String, JsonNode> field : fields) {
        JsonNode value = field.getValue();
        if (SECRET_FIELD.matcher(field.getKey().toLowerCase(Locale.ROOT)).matches() && value.isTextual()) {
          object.put(field.getKey(), REDACTED);
        } else {
          object.set(field.getKey(), redact(value));
        }
      }
      return object;
    }
    if (node instanceof ArrayNode array) {
      for (int i = 0; i < array.size(); i++) {
        array.set(i, redact(array.get(i)));
      }
      return array;
    }
    if (node.isTextual()) {
      return new TextNode(URI_PASSWORD.matcher(node.asText()).replaceFirst("$1" + REDACTED + "@"));
    }
    return node;
  }
}
