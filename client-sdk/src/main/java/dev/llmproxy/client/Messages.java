package dev.llmproxy.client;

import com.google.protobuf.ByteString;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ToolCall;
import java.util.List;
import java.util.Objects;

/**
 * The messages of a chat: system, user and assistant turns, user turns of text and images, and
 * the two turns of a tool call (the assistant's calls, then one {@code tool} message per result).
 *
 * <pre>{@code
 * Completion answer = client.complete(request);                     // finish_reason TOOL_CALLS
 * CompletionRequest.Builder next = request.toBuilder()
 *     .addMessages(Messages.assistant(answer.getToolCallsList()));
 * for (ToolCall call : answer.getToolCallsList()) {
 *   next.addMessages(Messages.toolResult(call.getId(), run(call)));
 * }
 * client.complete(next.build());                                    // the model reads the results
 * }</pre>
 */
public final class Messages {
  private Messages() {}

  /**
   * A system message.
   *
   * @param text the instructions
   * @return the message
   */
  public static Message system(String text) {
    return text("system", text);
  }

  /**
   * A user message of text.
   *
   * @param text what the user says
   * @return the message
   */
  public static Message user(String text) {
    return text("user", text);
  }

  /**
   * A user message of parts, text and images in order.
   *
   * @param parts from {@link #text}, {@link #imageUrl} and {@link #image}
   * @return the message
   */
  public static Message user(ContentPart... parts) {
    return Message.newBuilder().setRole("user").addAllParts(List.of(parts)).build();
  }

  /**
   * An assistant message of text: an earlier answer.
   *
   * @param text the answer's text
   * @return the message
   */
  public static Message assistant(String text) {
    return text("assistant", text);
  }

  /**
   * An assistant message that made these tool calls: an earlier answer with finish_reason TOOL_CALLS.
   *
   * @param toolCalls the calls, as the answer carried them
   * @return the message
   * @throws IllegalArgumentException if {@code toolCalls} is empty
   */
  public static Message assistant(List<ToolCall> toolCalls) {
    if (toolCalls.isEmpty()) {
      throw new IllegalArgumentException("toolCalls: empty (expected: the calls the model made)");
    }
    return Message.newBuilder().setRole("assistant").addAllToolCalls(toolCalls).build();
  }

  /**
   * The result of a tool call, as the model will read it.
   *
   * @param toolCallId the call's id ({@code ToolCall.getId()})
   * @param content the result, often JSON
   * @return the {@code tool} message
   */
  public static Message toolResult(String toolCallId, String content) {
    Objects.requireNonNull(toolCallId, "toolCallId");
    return Message.newBuilder().setRole("tool").setToolCallId(toolCallId)
        .setContent(Objects.requireNonNull(content, "content")).build();
  }

  /**
   * A text part.
   *
   * @param text the text
   * @return the part
   */
  public static ContentPart text(String text) {
    return ContentPart.newBuilder().setText(Objects.requireNonNull(text, "text")).build();
  }

  /**
   * An image the upstream fetches.
   *
   * @param url an http(s) URL, or a {@code data:} URL
   * @return the part
   */
  public static ContentPart imageUrl(String url) {
    return ContentPart.newBuilder().setImage(ImagePart.newBuilder().setUrl(Objects.requireNonNull(url, "url")))
        .build();
  }

  /**
   * An image sent inline; it counts towards the proxy's request size limit.
   *
   * @param bytes the image
   * @param mediaType the format, e.g. {@code image/png}
   * @return the part
   */
  public static ContentPart image(byte[] bytes, String mediaType) {
    return ContentPart.newBuilder().setImage(ImagePart.newBuilder().setData(ByteString.copyFrom(bytes))
        .setMediaType(Objects.requireNonNull(mediaType, "mediaType"))).build();
  }

  private static Message text(String role, String text) {
    return Message.newBuilder().setRole(role).setContent(Objects.requireNonNull(text, "text")).build();
  }
}
