package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.ContentPart;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Message;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Produces the deterministic text of one completion, one token at a time.
 *
 * <p>Words are drawn from a fixed vocabulary by a {@link SplittableRandom} seeded with a stable 64-bit
 * FNV-1a hash of the request's model, its prompt or messages (role and content), and its seed. So the
 * same request yields the same words on every run and every JVM, and a larger {@code max_tokens} only
 * extends the text. Token 0 is {@code "word"}, every later token {@code " word"}.
 *
 * <p>Generation ends after {@code max_tokens} tokens ({@code LENGTH}), or just before the token that
 * would complete one of the request's {@code stop} strings ({@code STOP}): that token is not produced,
 * so the text never contains a stop string. One token of look-ahead lets the caller know whether a
 * token is the last one. Not thread-safe.
 */
public final class SeededTokenGenerator {
  /** The {@code max_tokens} used when a request asks for 0. */
  public static final int DEFAULT_MAX_TOKENS = 64;

  private static final String[] VOCABULARY = {
    "the", "a", "model", "token", "stream", "answer", "quick", "brown", "fox", "jumps", "over", "lazy",
    "dog", "light", "river", "mountain", "signal", "network", "packet", "latency", "server", "client",
    "cache", "quota", "route", "upstream", "backend", "proxy", "balance", "request", "response",
    "deadline", "window", "buffer", "cluster", "replica", "shard", "vector", "matrix", "tensor",
    "gradient", "layer", "weight", "prompt", "context", "memory", "engine", "kernel", "thread",
    "future", "promise", "channel", "socket", "frame", "header", "trailer", "status", "error", "retry",
    "backoff", "jitter", "health", "probe", "metric", "counter", "gauge", "histogram", "trace", "span",
    "and", "of", "to", "in", "is", "it", "that", "with", "for", "on", "as", "by", "at", "from", "this",
    "quietly", "rapidly", "gently", "clearly", "simply", "rarely", "often", "always", "never", "again",
    "green", "blue", "red", "silver", "golden", "bright", "dark", "small", "large", "ancient", "modern",
    "sunrise", "ocean", "forest", "meadow", "harbor", "lantern", "compass", "journey", "garden", "stone",
  };

  private final SplittableRandom random;
  private final int maxTokens;
  private final List<String> stops;
  private final int tailLength;
  private final StringBuilder tail = new StringBuilder();

  private int produced;
  private String pending;
  private FinishReason finishReason = FinishReason.FINISH_REASON_UNSPECIFIED;

  /** A generator of {@code request}'s text, before its first token. */
  public SeededTokenGenerator(CompletionRequest request) {
    this.random = new SplittableRandom(seedOf(request));
    this.maxTokens = request.getMaxTokens() == 0 ? DEFAULT_MAX_TOKENS : request.getMaxTokens();
    this.stops = new ArrayList<>();
    int longest = 0;
    for (String stop : request.getStopList()) {
      if (!stop.isEmpty()) {
        stops.add(stop);
        longest = Math.max(longest, stop.length());
      }
    }
    this.tailLength = Math.max(0, longest - 1);
    this.pending = candidate(0);
  }

  /** Whether another token follows. */
  public boolean hasNext() {
    return pending != null;
  }

  /** Returns the next token's text and looks one token ahead. */
  public String next() {
    if (pending == null) {
      throw new NoSuchElementException("generation finished: " + finishReason);
    }
    String token = pending;
    produced++;
    if (tailLength > 0) {
      tail.append(token);
      if (tail.length() > tailLength) {
        tail.delete(0, tail.length() - tailLength);
      }
    }
    pending = candidate(produced);
    return token;
  }

  /** Tokens returned by {@link #next()} so far. */
  public int produced() {
    return produced;
  }

  /** Why generation ended; {@code FINISH_REASON_UNSPECIFIED} while {@link #hasNext()}. */
  public FinishReason finishReason() {
    return finishReason;
  }

  /** Produces every remaining token and returns their concatenation. */
  public String drain() {
    StringBuilder text = new StringBuilder();
    while (hasNext()) {
      text.append(next());
    }
    return text.toString();
  }

  private String candidate(int index) {
    if (index >= maxTokens) {
      finishReason = FinishReason.FINISH_REASON_LENGTH;
      return null;
    }
    String word = VOCABULARY[random.nextInt(VOCABULARY.length)];
    String token = index == 0 ? word : " " + word;
    if (!stops.isEmpty()) {
      String window = tail + token;
      for (String stop : stops) {
        if (window.contains(stop)) {
          finishReason = FinishReason.FINISH_REASON_STOP;
          return null;
        }
      }
    }
    return token;
  }

  /**
   * Prompt size in tokens as the simulated backend counts them: whitespace-separated words of the
   * prompt, or of every message's content and text parts; at least 1.
   */
  public static int promptTokens(CompletionRequest request) {
    int words = countWords(request.getPrompt());
    for (Message message : request.getMessagesList()) {
      words += countWords(message.getContent());
      for (ContentPart part : message.getPartsList()) {
        words += countWords(part.getText());
      }
    }
    return Math.max(1, words);
  }

  private static int countWords(String text) {
    int words = 0;
    boolean inWord = false;
    for (int i = 0; i < text.length(); i++) {
      boolean space = Character.isWhitespace(text.charAt(i));
      if (!space && !inWord) {
        words++;
      }
      inWord = !space;
    }
    return words;
  }

  /** FNV-1a over the fields that select the text, each length-prefixed so fields cannot run together. */
  static long seedOf(CompletionRequest request) {
    long h = 0xcbf29ce484222325L;
    h = mix(h, "model");
    h = mix(h, request.getModel());
    if (request.getMessagesCount() == 0) {
      h = mix(h, "prompt");
      h = mix(h, request.getPrompt());
    } else {
      h = mix(h, "messages");
      for (Message message : request.getMessagesList()) {
        h = mix(h, message.getRole());
        h = mix(h, message.getContent());
        for (ContentPart part : message.getPartsList()) { // none in a text-only conversation: same seed as ever
          h = mix(h, part.hasImage() ? "image" : "text");
          h = mix(h, part.hasImage() ? part.getImage().getUrl() + part.getImage().getData().size() : part.getText());
        }
        if (!message.getToolCallId().isEmpty()) {
          h = mix(h, message.getToolCallId());
        }
      }
    }
    if (request.hasSeed()) {
      h = mix(h, "seed");
      h = mix(h, Long.toString(request.getSeed()));
    }
    return h;
  }

  private static long mix(long h, String field) {
    byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
    h = mixByte(h, bytes.length >>> 24);
    h = mixByte(h, bytes.length >>> 16);
    h = mixByte(h, bytes.length >>> 8);
    h = mixByte(h, bytes.length);
    for (byte b : bytes) {
      h = mixByte(h, b);
    }
    return h;
  }

  private static long mixByte(long h, int b) {
    return (h ^ (b & 0xff)) * 0x100000001b3L;
  }
}
