package dev.llmproxy.server.service;

import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ToolCall;
import java.util.Locale;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * Checks the messages of a chat request: roles, text or content parts, images, and the tool-calling
 * turns (assistant {@code tool_calls}, {@code tool} messages with their {@code tool_call_id}).
 * Returns the first problem as "field: value (expected: ...)", or null.
 */
final class MessageValidator {
  /** The most bytes one image may have (inline, or decoded from a data: URL), as OpenAI allows. */
  static final int MAX_IMAGE_BYTES = 20 << 20;
  private static final Set<String> DETAILS = Set.of("", "low", "high", "auto");

  @Nullable
  String check(int i, Message m) {
    // Problems name their field; the name is built only for a problem, not for every message.
    if (m.getRole().isBlank()) {
      return at(i) + ".role: empty (expected: a role such as system, user, assistant or tool)";
    }
    boolean tool = m.getRole().equals("tool");
    boolean assistant = m.getRole().equals("assistant");
    if (!m.getContent().isEmpty() && m.getPartsCount() > 0) {
      return at(i) + ".content/parts: both set (expected: text in content, or a list of parts)";
    }
    if (m.getContent().isEmpty() && m.getPartsCount() == 0 && !(assistant && m.getToolCallsCount() > 0)) {
      return at(i) + ".content: empty (expected: non-empty text"
          + (assistant ? ", parts or tool_calls)" : " or parts)");
    }
    if (tool && m.getToolCallId().isEmpty()) {
      return at(i) + ".tool_call_id: empty (expected: the id of the tool call this message answers)";
    }
    if (!tool && !m.getToolCallId().isEmpty()) {
      return at(i) + ".tool_call_id: set on role \"" + m.getRole() + "\" (expected: only on role tool)";
    }
    if (m.getToolCallsCount() > 0 && !assistant) {
      return at(i) + ".tool_calls: set on role \"" + m.getRole() + "\" (expected: only on role assistant)";
    }
    for (int j = 0; j < m.getToolCallsCount(); j++) {
      ToolCall call = m.getToolCalls(j);
      if (call.getId().isEmpty()) {
        return at(i) + ".tool_calls[" + j + "].id: empty (expected: the call's id)";
      }
      if (call.getFunction().getName().isEmpty()) {
        return at(i) + ".tool_calls[" + j + "].function.name: empty (expected: the function called)";
      }
    }
    for (int j = 0; j < m.getPartsCount(); j++) {
      String problem = checkPart(m.getParts(j));
      if (problem != null) {
        return at(i) + ".parts[" + j + "]" + problem;
      }
    }
    return null;
  }

  private static String at(int i) {
    return "messages[" + i + "]";
  }

  /** What is wrong with {@code part}, from its field on (".text: ..."), or null. */
  @Nullable
  private static String checkPart(ContentPart part) {
    switch (part.getPartCase()) {
      case TEXT -> {
        return part.getText().isEmpty() ? ".text: empty (expected: non-empty text)" : null;
      }
      case IMAGE -> {
        String problem = checkImage(part.getImage());
        return problem == null ? null : ".image" + problem;
      }
      default -> {
        return ": no part set (expected: text or image)";
      }
    }
  }

  @Nullable
  private static String checkImage(ImagePart image) {
    if (!DETAILS.contains(image.getDetail())) {
      return ".detail: \"" + image.getDetail() + "\" (expected: low, high or auto)";
    }
    switch (image.getSourceCase()) {
      case DATA -> {
        if (image.getData().isEmpty()) {
          return ".data: empty (expected: the image's bytes)";
        }
        if (image.getData().size() > MAX_IMAGE_BYTES) {
          return ".data: " + image.getData().size() + " bytes (expected: at most " + MAX_IMAGE_BYTES + ")";
        }
        if (!image.getMediaType().toLowerCase(Locale.ROOT).startsWith("image/")) {
          return ".media_type: \"" + image.getMediaType() + "\" (expected: image/png, image/jpeg, ...)";
        }
        return null;
      }
      case URL -> {
        String url = image.getUrl();
        String lower = url.toLowerCase(Locale.ROOT);
        if (lower.startsWith("data:")) {
          // base64 carries 3 bytes in 4 characters
          long decoded = (long) (url.length() - url.indexOf(',') - 1) * 3 / 4;
          if (!lower.startsWith("data:image/") || url.indexOf(',') < 0) {
            return ".url: a data: URL that is not an image (expected: data:image/...;base64,...)";
          }
          if (decoded > MAX_IMAGE_BYTES) {
            return ".url: a data: URL of about " + decoded + " bytes (expected: at most " + MAX_IMAGE_BYTES + ")";
          }
          return null;
        }
        if (!lower.startsWith("http://") && !lower.startsWith("https://")) {
          int colon = url.indexOf(':');
          String scheme = colon > 0 && colon <= 16 ? url.substring(0, colon) : "no";
          return ".url: " + scheme + " scheme (expected: an http, https or data: URL)";
        }
        return null;
      }
      default -> {
        return ": neither url nor data set (expected: one of them)";
      }
    }
  }
}
