package dev.llmproxy.server.upstream.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Turns a {@link CompletionRequest} into the JSON body of an OpenAI-compatible request:
 * {@code messages} for {@code /chat/completions}, {@code prompt} for {@code /completions}. The
 * request always streams, with {@code stream_options.include_usage}, so both RPCs are served from
 * the same stream (stall detection and failover work alike). Sampling fields, stop and seed map one
 * to one; unset optional fields are left out so the engine's defaults apply.
 */
final class OpenAiRequestWriter {
  private static final JsonFactory JSON = new JsonFactory();

  private OpenAiRequestWriter() {}

  /** Whether the request goes to {@code /chat/completions} (messages) rather than {@code /completions}. */
  static boolean isChat(CompletionRequest request) {
    return request.getMessagesCount() > 0;
  }

  /**
   * The request body.
   *
   * @param model the model name to send upstream
   */
  static byte[] body(CompletionRequest request, String model) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256 + request.getSerializedSize() * 2);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      if (!model.isEmpty()) {
        g.writeStringField("model", model); // without one, engines serving a single model use it
      }
      if (isChat(request)) {
        g.writeArrayFieldStart("messages");
        for (Message message : request.getMessagesList()) {
          g.writeStartObject();
          g.writeStringField("role", message.getRole());
          g.writeStringField("content", message.getContent());
          g.writeEndObject();
        }
        g.writeEndArray();
      } else {
        g.writeStringField("prompt", request.getPrompt());
      }
      if (request.getMaxTokens() > 0) {
        g.writeNumberField("max_tokens", request.getMaxTokens());
      }
      if (request.hasTemperature()) {
        g.writeNumberField("temperature", request.getTemperature());
      }
      if (request.hasTopP()) {
        g.writeNumberField("top_p", request.getTopP());
      }
      if (request.getStopCount() > 0) {
        g.writeArrayFieldStart("stop");
        for (String stop : request.getStopList()) {
          g.writeString(stop);
        }
        g.writeEndArray();
      }
      if (request.hasSeed()) {
        g.writeNumberField("seed", request.getSeed());
      }
      g.writeBooleanField("stream", true);
      g.writeObjectFieldStart("stream_options");
      g.writeBooleanField("include_usage", true);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }
}
