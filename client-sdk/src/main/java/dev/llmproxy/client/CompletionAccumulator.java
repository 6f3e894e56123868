package dev.llmproxy.client;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolCallDelta;
import java.util.ArrayList;
import java.util.List;

/**
 * Puts the chunks of a stream together into the {@link Completion} that {@code Complete} returns for
 * the same request: text, reasoning and logprobs in order, and the tool calls assembled from their
 * deltas (the pieces with the same {@code index} form one call: the first carries id and name, the
 * arguments are concatenated). {@link CompletionStream#completion()} uses one; use your own with
 * {@link LlmProxyClient#streamAsync}. Not thread-safe: feed it from the thread that reads the stream.
 *
 * <pre>{@code
 * CompletionAccumulator answer = new CompletionAccumulator();
 * for (CompletionChunk chunk : stream) {
 *   System.out.print(chunk.getText());
 *   answer.add(chunk);
 * }
 * List<ToolCall> calls = answer.toolCalls();
 * }</pre>
 */
public final class CompletionAccumulator {
  private final Completion.Builder completion = Completion.newBuilder();
  private final StringBuilder text = new StringBuilder();
  private final StringBuilder reasoning = new StringBuilder();
  private final List<ToolCall.Builder> calls = new ArrayList<>();
  private boolean started;

  /**
   * Adds the next chunk of the stream.
   *
   * @param chunk the chunk, in stream order
   * @return this accumulator
   */
  public CompletionAccumulator add(CompletionChunk chunk) {
    if (!started) {
      started = true;
      completion.setId(chunk.getId());
    }
    text.append(chunk.getText());
    reasoning.append(chunk.getReasoning());
    completion.addAllLogprobs(chunk.getLogprobsList());
    for (ToolCallDelta delta : chunk.getToolCallsList()) {
      int index = delta.getIndex() >= 0 && delta.getIndex() <= calls.size() ? delta.getIndex() : calls.size();
      if (index == calls.size()) {
        calls.add(ToolCall.newBuilder().setFunction(FunctionCall.getDefaultInstance()));
      }
      ToolCall.Builder call = calls.get(index);
      FunctionCall.Builder function = call.getFunctionBuilder();
      if (call.getId().isEmpty()) {
        call.setId(delta.getId());
      }
      if (function.getName().isEmpty()) {
        function.setName(delta.getName());
      }
      function.setArguments(function.getArguments() + delta.getArguments());
    }
    if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
      completion.setFinishReason(chunk.getFinishReason());
    }
    if (chunk.hasUsage()) {
      completion.setUsage(chunk.getUsage());
    }
    return this;
  }

  /**
   * The tool calls assembled so far, in index order; complete once the stream has ended.
   *
   * @return the tool calls, each with its id, function name and whole arguments
   */
  public List<ToolCall> toolCalls() {
    return calls.stream().map(ToolCall.Builder::build).toList();
  }

  /**
   * The text so far.
   *
   * @return the concatenated text of the chunks added
   */
  public String text() {
    return text.toString();
  }

  /**
   * The completion of the chunks added so far (without a model: chunks do not carry it).
   *
   * @return text, reasoning, tool calls, logprobs, finish reason and usage
   */
  public Completion completion() {
    return completion.clone().setText(text.toString()).setReasoning(reasoning.toString())
        .clearToolCalls().addAllToolCalls(toolCalls()).build();
  }
}
