package dev.llmproxy.server.cache;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.ImagePart;
import dev.llmproxy.v1.JsonSchemaFormat;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.ResponseFormat;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolChoice;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The identity of a request for the cache: a SHA-256 over a canonical encoding of what the request
 * means, so two requests that mean the same get the same key whatever client, language or field
 * order produced their bytes.
 *
 * <p>The encoding is built from the normalized fields, never from the protobuf bytes (which are not
 * canonical across implementations): a version tag, the namespace, the resolved route, the model,
 * the prompt or the messages (tagged, so a prompt never equals a one-message chat), max_tokens
 * after the route's default was filled in, temperature and top_p (absent differs from any value;
 * -0 equals 0), the stop sequences as a sorted set (their order and repeats do not change the
 * answer), and the seed; then what shapes the answer beyond text: each message's parts, tool calls
 * and tool_call_id, the tools in order (a JSON schema as canonical JSON, keys sorted), tool_choice,
 * parallel_tool_calls, response_format, logprobs and top_logprobs, and the engine parameters in
 * {@code extra} (keys sorted). {@code user} and {@code metadata} attribute a call without changing
 * its answer, so they are left out: two users asking the same share the entry. Every variable-length
 * field is length-prefixed, so no two different requests encode to the same bytes.
 */
public final class CacheKey {
  private static final byte[] VERSION = "llmproxy-cache-key/2".getBytes(StandardCharsets.UTF_8);

  private final byte[] digest;
  private final int hash;

  private CacheKey(byte[] digest) {
    this.digest = digest;
    this.hash = Arrays.hashCode(digest);
  }

  /**
   * The key of {@code request} (already validated, with defaults filled in) on {@code route}, in
   * {@code namespace} (a tenant's entries are invisible to others when namespaces differ).
   */
  public static CacheKey of(String namespace, String route, CompletionRequest request) {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(route, "route");
    Encoder e = new Encoder();
    e.bytes(VERSION);
    e.string(namespace);
    e.string(route);
    e.string(request.getModel());
    if (request.getMessagesCount() > 0) {
      e.tag('M');
      e.integer(request.getMessagesCount());
      for (Message m : request.getMessagesList()) {
        e.string(m.getRole());
        e.string(m.getContent());
        e.string(m.getToolCallId());
        e.integer(m.getPartsCount());
        for (ContentPart part : m.getPartsList()) {
          part(e, part);
        }
        e.integer(m.getToolCallsCount());
        for (ToolCall call : m.getToolCallsList()) {
          e.string(call.getId());
          e.string(call.getFunction().getName());
          e.string(call.getFunction().getArguments());
        }
      }
    } else {
      e.tag('P');
      e.string(request.getPrompt());
    }
    e.integer(request.getMaxTokens());
    e.optionalFloat(request.hasTemperature(), request.getTemperature());
    e.optionalFloat(request.hasTopP(), request.getTopP());
    List<String> stops = List.copyOf(new TreeSet<>(request.getStopList()));
    e.integer(stops.size());
    stops.forEach(e::string);
    if (request.hasSeed()) {
      e.tag('S');
      e.longValue(request.getSeed());
    } else {
      e.tag('-');
    }
    shaping(e, request);
    return new CacheKey(e.digest());
  }

  private static void part(Encoder e, ContentPart part) {
    if (part.hasImage()) {
      ImagePart image = part.getImage();
      e.tag(image.hasData() ? 'D' : 'U');
      if (image.hasData()) {
        e.bytes(image.getData().toByteArray());
      } else {
        e.string(image.getUrl());
      }
      e.string(image.getMediaType());
      e.string(image.getDetail());
    } else {
      e.tag('T');
      e.string(part.getText());
    }
  }

  /** The fields beyond the text that change what the upstream answers. */
  private static void shaping(Encoder e, CompletionRequest request) {
    e.integer(request.getToolsCount());
    for (Tool tool : request.getToolsList()) {
      FunctionDefinition f = tool.getFunction();
      e.string(f.getName());
      e.string(f.getDescription());
      e.struct(f.hasParameters(), f.getParameters());
      e.tag(f.getStrict() ? 'Y' : 'N');
    }
    ToolChoice choice = request.getToolChoice();
    switch (choice.getChoiceCase()) {
      case MODE -> {
        e.tag('m');
        e.integer(choice.getModeValue());
      }
      case FUNCTION_NAME -> {
        e.tag('f');
        e.string(choice.getFunctionName());
      }
      default -> e.tag('-');
    }
    e.tag(!request.hasParallelToolCalls() ? '-' : request.getParallelToolCalls() ? 'Y' : 'N');
    ResponseFormat format = request.getResponseFormat();
    switch (format.getFormatCase()) {
      case JSON_OBJECT -> e.tag('o');
      case JSON_SCHEMA -> {
        JsonSchemaFormat schema = format.getJsonSchema();
        e.tag('s');
        e.string(schema.getName());
        e.string(schema.getDescription());
        e.struct(schema.hasSchema(), schema.getSchema());
        e.tag(schema.getStrict() ? 'Y' : 'N');
      }
      default -> e.tag('t'); // text, or unset: the same answer
    }
    e.tag(request.getLogprobs() ? 'Y' : 'N');
    e.integer(request.getTopLogprobs());
    e.struct(request.hasExtra(), request.getExtra());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheKey other && hash == other.hash && Arrays.equals(digest, other.digest);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  /** The digest in hex, as logs and tests show it. */
  @Override
  public String toString() {
    return HexFormat.of().formatHex(digest);
  }

  /** Feeds fields into the digest as tagged, length-prefixed bytes. */
  private static final class Encoder {
    private final MessageDigest sha256;
    private final ByteBuffer scalar = ByteBuffer.allocate(Long.BYTES);

    Encoder() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is not available in this JVM", e);
      }
    }

    void tag(char tag) {
      sha256.update((byte) tag);
    }

    void bytes(byte[] value) {
      integer(value.length);
      sha256.update(value);
    }

    void string(String value) {
      bytes(value.getBytes(StandardCharsets.UTF_8));
    }

    void integer(int value) {
      scalar.clear();
      sha256.update(scalar.putInt(value).array(), 0, Integer.BYTES);
    }

    void longValue(long value) {
      scalar.clear();
      sha256.update(scalar.putLong(value).array(), 0, Long.BYTES);
    }

    void optionalFloat(boolean present, float value) {
      if (present) {
        tag('F');
        integer(Float.floatToIntBits(value == 0f ? 0f : value));
      } else {
        tag('-');
      }
    }

    /** A Struct as canonical JSON: keys sorted, so field order never changes the key. */
    void struct(boolean present, Struct struct) {
      if (!present) {
        tag('-');
        return;
      }
      tag('J');
      StringBuilder json = new StringBuilder();
      canonical(json, Value.newBuilder().setStructValue(struct).build());
      string(json.toString());
    }

    private static void canonical(StringBuilder out, Value value) {
      switch (value.getKindCase()) {
        case STRUCT_VALUE -> {
          out.append('{');
          new TreeMap<>(value.getStructValue().getFieldsMap()).forEach((k, v) -> {
            quote(out, k);
            out.append(':');
            canonical(out, v);
            out.append(',');
          });
          out.append('}');
        }
        case LIST_VALUE -> {
          out.append('[');
          value.getListValue().getValuesList().forEach(v -> {
            canonical(out, v);
            out.append(',');
          });
          out.append(']');
        }
        case STRING_VALUE -> quote(out, value.getStringValue());
        case NUMBER_VALUE -> out.append(value.getNumberValue() == 0 ? 0d : value.getNumberValue());
        case BOOL_VALUE -> out.append(value.getBoolValue());
        default -> out.append("null");
      }
    }

    private static void quote(StringBuilder out, String s) {
      out.append('"').append(s.length()).append(':').append(s).append('"'); // length-prefixed
    }

    byte[] digest() {
      return sha256.digest();
    }
  }
}
