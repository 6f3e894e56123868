package dev.llmproxy.server.observability;

/** JSON string literals for the one-line logs (access log, operational log), without a JSON library on the path. */
final class JsonText {
  private JsonText() {}

  /** Appends {@code "name":"value"} with the value escaped as JSON requires. */
  static StringBuilder field(StringBuilder line, String name, String value) {
    line.append('"').append(name).append("\":\"");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        line.append('\\').append(c);
      } else if (c < 0x20) {
        line.append(String.format("\\u%04x", (int) c));
      } else {
        line.append(c);
      }
    }
    return line.append('"');
  }
}
