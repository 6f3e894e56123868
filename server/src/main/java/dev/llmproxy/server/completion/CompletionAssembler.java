package dev.llmproxy.server.completion;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionCall;
import dev.llmproxy.v1.ToolCall;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.Usage;
import java.util.ArrayList;
import java.util.List;

/**
 * Gathers the chunks of a stream into the {@link Completion} that {@code Complete} returns for the
 * same answer: text, reasoning and logprobs concatenated in order; tool-call deltas joined by their
 * {@code index} (id and name from the first piece that has them, arguments appended); id from the
 * first chunk; finish reason and usage from the last. {@link #chunkOf(Completion)} is the inverse:
 * one chunk that assembles back to the completion. Not thread-safe.
 */
public final class CompletionAssembler {
  private final StringBuilder text = new StringBuilder();
  private final StringBuilder reasoning = new StringBuilder();
  private final Completion.Builder completion = Completion.newBuilder();
  private final List<ToolCallParts> calls = new ArrayList<>();
  private boolean started;
  private FinishReason finishReason = FinishReason.FINISH_REASON_UNSPECIFIED;
  private Usage usage;

  /** Adds the next chunk of the stream. */
  public void add(CompletionChunk chunk) {
    if (!started) {
      started = true;
      completion.setId(chunk.getId());
    }
    text.append(chunk.getText());
    reasoning.append(chunk.getReasoning());
    completion.addAllLogprobs(chunk.getLogprobsList());
    for (ToolCallDelta delta : chunk.getToolCallsList()) {
      int index = delta.getIndex();
      if (index < 0 || index > calls.size()) {
        index = calls.size(); // a gap or a negative index: a new call rather than a lost piece
      }
      if (index == calls.size()) {
        calls.add(new ToolCallParts());
      }
      calls.get(index).add(delta);
    }
    if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
      finishReason = chunk.getFinishReason();
    }
    if (chunk.hasUsage()) {
      usage = chunk.getUsage();
    }
  }

  /** Whether any chunk was added. */
  public boolean started() {
    return started;
  }

  /** The completion of the chunks added so far, naming {@code model}. */
  public Completion build(String model) {
    completion.setModel(model).setText(text.toString()).setReasoning(reasoning.toString())
        .setFinishReason(finishReason).clearToolCalls();
    for (ToolCallParts call : calls) {
      completion.addToolCalls(call.build());
    }
    return completion.setUsage(usage != null ? usage : Usage.getDefaultInstance()).build();
  }

  /** The single chunk a whole completion is stored or streamed as. */
  public static CompletionChunk chunkOf(Completion completion) {
    CompletionChunk.Builder chunk = CompletionChunk.newBuilder()
        .setId(completion.getId())
        .setIndex(0)
        .setText(completion.getText())
        .setReasoning(completion.getReasoning())
        .addAllLogprobs(completion.getLogprobsList())
        .setFinishReason(completion.getFinishReason());
    for (int i = 0; i < completion.getToolCallsCount(); i++) {
      ToolCall call = completion.getToolCalls(i);
      chunk.addToolCalls(ToolCallDelta.newBuilder().setIndex(i).setId(call.getId())
          .setName(call.getFunction().getName()).setArguments(call.getFunction().getArguments()));
    }
    if (completion.hasUsage()) {
      chunk.setUsage(completion.getUsage());
    }
    return chunk.build();
  }

  /** One tool call being put together from its deltas. */
  private static final class ToolCallParts {
    private String id = "";
    private String name = "";
    private final StringBuilder arguments = new StringBuilder();

    void add(ToolCallDelta delta) {
      if (id.isEmpty()) {
        id = delta.getId();
      }
      if (name.isEmpty()) {
        name = delta.getName();
      }
      arguments.append(delta.getArguments());
    }

    ToolCall build() {
      return ToolCall.newBuilder().setId(id)
          .setFunction(FunctionCall.newBuilder().setName(name).setArguments(arguments.toString()))
          .build();
    }
  }
}
