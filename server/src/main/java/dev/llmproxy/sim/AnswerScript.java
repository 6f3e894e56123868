package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.TokenLogprob;
import dev.llmproxy.v1.Tool;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.ToolChoice;
import dev.llmproxy.v1.ToolChoiceMode;
import dev.llmproxy.v1.TopLogprob;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import javax.annotation.Nullable;

/**
 * The deterministic answer of the simulated backend to one request, one piece at a time: what both
 * protocol front-ends send, one piece per token interval.
 *
 * <p>What it answers, in order:
 * <ol>
 *   <li>a reasoning model (its name contains "reason", e.g. {@code sim-reasoner}) first thinks:
 *       {@value #REASONING_TOKENS} tokens of {@code reasoning}, besides {@code max_tokens};
 *   <li>with tools, and tool_choice {@code required} or a named function (or auto/unset when the
 *       last message is the user's), tool calls: the named function, else the first tool, else every
 *       tool when {@code parallel_tool_calls} is true; arguments generated from each tool's schema
 *       ({@link SchemaValues}), streamed {@value #ARGUMENT_PIECE} characters a piece; finish
 *       {@code TOOL_CALLS};
 *   <li>else with response_format {@code json_schema}, JSON valid under the schema; with
 *       {@code json_object}, {@code {"answer": "..."}}; whole whatever {@code max_tokens} says (a
 *       cut JSON text helps nobody), {@value #ARGUMENT_PIECE} characters a piece; finish {@code STOP};
 *   <li>else the words of {@link SeededTokenGenerator}, exactly as before any of this existed.
 * </ol>
 * With {@code logprobs}, every text piece carries a made-up but stable log probability and
 * {@code top_logprobs} alternatives (the piece itself first). Not thread-safe.
 */
public final class AnswerScript {
  static final int REASONING_TOKENS = 12;
  static final int ARGUMENT_PIECE = 8;

  /**
   * One piece of the answer: a token of reasoning or text, or a piece of a tool call.
   *
   * @param toolCall a tool-call piece, or null
   * @param logprob the text token's log probability, when asked for; or null
   */
  public record Piece(String reasoning, String text, @Nullable ToolCallDelta toolCall, @Nullable TokenLogprob logprob) {}

  /** A whole answer, for the unary calls. */
  public record Answer(String reasoning, String text, List<ToolCall> toolCalls, List<TokenLogprob> logprobs) {}

  private final CompletionRequest request;
  private final List<Piece> scripted = new ArrayList<>(); // reasoning, then tool calls or JSON
  private final List<ToolCall> toolCalls = new ArrayList<>();
  private final SeededTokenGenerator words;
  private final boolean wordsAfterScript;
  private final FinishReason scriptFinish;
  private int position;
  private int produced;
  private int reasoningTokens;

  /** The answer to {@code request}, before its first piece. */
  public AnswerScript(CompletionRequest request) {
    this.request = request;
    this.words = new SeededTokenGenerator(request);
    long seed = SeededTokenGenerator.seedOf(request);
    if (request.getModel().toLowerCase(Locale.ROOT).contains("reason")) {
      SeededTokenGenerator thoughts = new SeededTokenGenerator(request.toBuilder().clearStop()
          .setSeed(seed ^ 0x5eed).setMaxTokens(REASONING_TOKENS).build());
      while (thoughts.hasNext()) {
        scripted.add(new Piece(thoughts.next(), "", null, null));
        reasoningTokens++;
      }
    }
    List<FunctionDefinition> calls = toolsToCall(request);
    if (!calls.isEmpty()) {
      for (int i = 0; i < calls.size(); i++) {
        addToolCall(i, calls.get(i), seed);
      }
      wordsAfterScript = false;
      scriptFinish = FinishReason.FINISH_REASON_TOOL_CALLS;
    } else if (request.getResponseFormat().hasJsonSchema() || request.getResponseFormat().hasJsonObject()) {
      String json = request.getResponseFormat().hasJsonSchema()
          ? new SchemaValues(seed).json(request.getResponseFormat().getJsonSchema().getSchema())
          : "{\"answer\": \"" + new SeededTokenGenerator(request.toBuilder().clearStop().setMaxTokens(8).build())
              .drain() + "\"}";
      for (String piece : pieces(json)) {
        scripted.add(textPiece(piece, scripted.size()));
      }
      wordsAfterScript = false;
      scriptFinish = FinishReason.FINISH_REASON_STOP;
    } else {
      wordsAfterScript = true;
      scriptFinish = null;
    }
  }

  /** Whether another piece follows. */
  public boolean hasNext() {
    return position < scripted.size() || (wordsAfterScript && words.hasNext());
  }

  /** The next piece. */
  public Piece next() {
    if (position < scripted.size()) {
      produced++;
      return scripted.get(position++);
    }
    if (!wordsAfterScript || !words.hasNext()) {
      throw new NoSuchElementException("the answer is complete");
    }
    produced++;
    return textPiece(words.next(), produced - 1);
  }

  /** Pieces returned so far: the completion tokens. */
  public int produced() {
    return produced;
  }

  /** How many of the pieces are reasoning. */
  public int reasoningTokens() {
    return reasoningTokens;
  }

  /** Why the answer ends; meaningful once {@link #hasNext()} is false. */
  public FinishReason finishReason() {
    return scriptFinish != null ? scriptFinish : words.finishReason();
  }

  /** Every remaining piece, gathered. */
  public Answer drain() {
    StringBuilder reasoning = new StringBuilder();
    StringBuilder text = new StringBuilder();
    List<TokenLogprob> logprobs = new ArrayList<>();
    while (hasNext()) {
      Piece piece = next();
      reasoning.append(piece.reasoning());
      text.append(piece.text());
      if (piece.logprob() != null) {
        logprobs.add(piece.logprob());
      }
    }
    return new Answer(reasoning.toString(), text.toString(), List.copyOf(toolCalls), logprobs);
  }

  /** Which functions the answer calls; empty for a text answer. */
  static List<FunctionDefinition> toolsToCall(CompletionRequest request) {
    if (request.getToolsCount() == 0) {
      return List.of();
    }
    ToolChoice choice = request.getToolChoice();
    if (choice.hasFunctionName()) {
      for (Tool tool : request.getToolsList()) {
        if (tool.getFunction().getName().equals(choice.getFunctionName())) {
          return List.of(tool.getFunction());
        }
      }
      return List.of();
    }
    ToolChoiceMode mode = choice.getMode();
    boolean call = mode == ToolChoiceMode.TOOL_CHOICE_MODE_REQUIRED
        || ((mode == ToolChoiceMode.TOOL_CHOICE_MODE_AUTO || mode == ToolChoiceMode.TOOL_CHOICE_MODE_UNSPECIFIED)
            && lastRoleIsUser(request));
    if (!call) {
      return List.of();
    }
    if (request.hasParallelToolCalls() && request.getParallelToolCalls()) {
      return request.getToolsList().stream().map(Tool::getFunction).toList();
    }
    return List.of(request.getTools(0).getFunction());
  }

  private static boolean lastRoleIsUser(CompletionRequest request) {
    List<Message> messages = request.getMessagesList();
    return !messages.isEmpty() && messages.get(messages.size() - 1).getRole().equals("user");
  }

  private void addToolCall(int index, FunctionDefinition function, long seed) {
    String id = String.format("call_%016x", seed * 31 + index);
    String arguments = function.hasParameters()
        ? new SchemaValues(seed + index).json(function.getParameters()) : "{}";
    toolCalls.add(ToolCall.newBuilder().setId(id)
        .setFunction(FunctionCall.newBuilder().setName(function.getName()).setArguments(arguments)).build());
    List<String> pieces = pieces(arguments);
    for (int i = 0; i < pieces.size(); i++) {
      ToolCallDelta.Builder delta = ToolCallDelta.newBuilder().setIndex(index).setArguments(pieces.get(i));
      if (i == 0) {
        delta.setId(id).setName(function.getName());
      }
      scripted.add(new Piece("", "", delta.build(), null));
    }
  }

  private Piece textPiece(String text, int index) {
    if (!request.getLogprobs()) {
      return new Piece("", text, null, null);
    }
    double logprob = -((text.hashCode() * 31L + index) & 0x3ff) / 512.0;
    TokenLogprob.Builder token = TokenLogprob.newBuilder().setToken(text).setLogprob(logprob);
    for (int k = 0; k < request.getTopLogprobs(); k++) {
      String alternative = k == 0 ? text : "alt" + k;
      token.addTopLogprobs(TopLogprob.newBuilder().setToken(alternative).setLogprob(logprob - k * 0.5));
    }
    return new Piece("", text, null, token.build());
  }

  /** {@code text} cut into pieces of {@value #ARGUMENT_PIECE} characters, never inside a surrogate pair. */
  private static List<String> pieces(String text) {
    List<String> pieces = new ArrayList<>();
    int start = 0;
    while (start < text.length()) {
      int end = Math.min(text.length(), start + ARGUMENT_PIECE);
      if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
        end++;
      }
      pieces.add(text.substring(start, end));
      start = end;
    }
    if (pieces.isEmpty()) {
      pieces.add("");
    }
    return pieces;
  }
}
