package dev.llmproxy.server.upstream.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.google.protobuf.ByteString;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.TopLogprob;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@code choices[0].logprobs} in either of its two OpenAI shapes: the chat API's
 * {@code {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}}, or the legacy
 * completions API's parallel lists {@code {"tokens", "token_logprobs", "top_logprobs": [{token:
 * logprob}]}}. Anything else reads as no logprobs.
 */
final class OpenAiLogprobs {
  private OpenAiLogprobs() {}

  /** The logprobs object that starts at the parser's current token ({@code value}). */
  static List<TokenLogprob> read(JsonParser p, JsonToken value) throws IOException {
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return List.of();
    }
    List<TokenLogprob> chat = null;
    List<String> tokens = null;
    List<Double> logprobs = null;
    List<List<TopLogprob>> tops = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "content" -> chat = readChatTokens(p, v);
        case "tokens" -> tokens = readStrings(p, v);
        case "token_logprobs" -> logprobs = readNumbers(p, v);
        case "top_logprobs" -> tops = readTopMaps(p, v);
        default -> p.skipChildren();
      }
    }
    if (chat != null) {
      return chat;
    }
    if (tokens == null) {
      return List.of();
    }
    List<TokenLogprob> legacy = new ArrayList<>(tokens.size());
    for (int i = 0; i < tokens.size(); i++) {
      TokenLogprob.Builder token = TokenLogprob.newBuilder().setToken(tokens.get(i));
      if (logprobs != null && i < logprobs.size()) {
        token.setLogprob(logprobs.get(i));
      }
      if (tops != null && i < tops.size()) {
        token.addAllTopLogprobs(tops.get(i));
      }
      legacy.add(token.build());
    }
    return legacy;
  }

  private static List<TokenLogprob> readChatTokens(JsonParser p, JsonToken value) throws IOException {
    List<TokenLogprob> out = new ArrayList<>();
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return out;
    }
    while (p.nextToken() == JsonToken.START_OBJECT) {
      TokenLogprob.Builder token = TokenLogprob.newBuilder();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        switch (field) {
          case "token" -> token.setToken(v == JsonToken.VALUE_STRING ? p.getText() : "");
          case "logprob" -> token.setLogprob(v.isNumeric() ? p.getDoubleValue() : 0);
          case "bytes" -> token.setBytes(readBytes(p, v));
          case "top_logprobs" -> {
            if (v == JsonToken.START_ARRAY) {
              while (p.nextToken() == JsonToken.START_OBJECT) {
                token.addTopLogprobs(readTop(p));
              }
            } else {
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
      out.add(token.build());
    }
    return out;
  }

  private static TopLogprob readTop(JsonParser p) throws IOException {
    TopLogprob.Builder top = TopLogprob.newBuilder();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "token" -> top.setToken(v == JsonToken.VALUE_STRING ? p.getText() : "");
        case "logprob" -> top.setLogprob(v.isNumeric() ? p.getDoubleValue() : 0);
        case "bytes" -> top.setBytes(readBytes(p, v));
        default -> p.skipChildren();
      }
    }
    return top.build();
  }

  private static ByteString readBytes(JsonParser p, JsonToken value) throws IOException {
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return ByteString.EMPTY;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
      bytes.write(p.getIntValue());
    }
    if (p.currentToken() != JsonToken.END_ARRAY) {
      p.skipChildren();
    }
    return ByteString.copyFrom(bytes.toByteArray());
  }

  private static List<String> readStrings(JsonParser p, JsonToken value) throws IOException {
    List<String> out = new ArrayList<>();
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return out;
    }
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      out.add(t == JsonToken.VALUE_STRING ? p.getText() : "");
      p.skipChildren();
    }
    return out;
  }

  private static List<Double> readNumbers(JsonParser p, JsonToken value) throws IOException {
    List<Double> out = new ArrayList<>();
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return out;
    }
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      out.add(t.isNumeric() ? p.getDoubleValue() : 0);
      p.skipChildren();
    }
    return out;
  }

  private static List<List<TopLogprob>> readTopMaps(JsonParser p, JsonToken value) throws IOException {
    List<List<TopLogprob>> out = new ArrayList<>();
    if (value != JsonToken.START_ARRAY) {
      p.skipChildren();
      return out;
    }
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      List<TopLogprob> tops = new ArrayList<>();
      if (t == JsonToken.START_OBJECT) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String token = p.currentName();
          JsonToken v = p.nextToken();
          tops.add(TopLogprob.newBuilder().setToken(token).setLogprob(v.isNumeric() ? p.getDoubleValue() : 0)
              .build());
          p.skipChildren();
        }
      } else {
        p.skipChildren();
      }
      out.add(tops);
    }
    return out;
  }
}
