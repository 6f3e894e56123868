package dev.llmproxy.client.example;

import com.google.protobuf.Struct;
import dev.llmproxy.client.CompletionStream;
import dev.llmproxy.client.LlmProxyClient;
import dev.llmproxy.client.LlmProxyException;
import dev.llmproxy.client.Messages;
import dev.llmproxy.client.Tools;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.ToolCall;
import java.io.PrintStream;
import java.time.Duration;

/**
 * A tool-calling loop with the Java SDK: the model is offered two functions; each answer that calls
 * tools is streamed (the calls are assembled from their deltas by {@link CompletionStream#completion()}),
 * the functions run here, their results go back as {@code tool} messages, and the loop ends when the
 * model answers with text. Run by {@code ToolCallingExampleE2ETest} against the demo, whose simulated
 * backend calls a tool when the last message is the user's and answers text after a tool result.
 *
 * <p>Against the demo ({@code java -jar server/target/llmproxy-server.jar}):
 * <pre>
 * ./mvnw -q -pl client-sdk test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp "client-sdk/target/test-classes:client-sdk/target/classes:$(cat client-sdk/target/cp.txt)" \
 *   dev.llmproxy.client.example.ToolCallingExample 127.0.0.1:50051
 * </pre>
 */
public final class ToolCallingExample {
  private static final int MAX_ROUNDS = 4;

  private ToolCallingExample() {}

  /**
   * Runs the example and exits with its status.
   *
   * @param args the proxy's address (default {@code 127.0.0.1:50051})
   */
  public static void main(String[] args) {
    System.exit(run(args.length > 0 ? args[0] : "127.0.0.1:50051", System.out));
  }

  /**
   * Runs the loop, printing each tool call, its result and the final answer to {@code out}.
   *
   * @param target the proxy's {@code host:port}
   * @param out where to print
   * @return 0 when the model answered, 1 on a failed call or a loop that did not end
   */
  public static int run(String target, PrintStream out) {
    try (LlmProxyClient client = LlmProxyClient.builder(target).usePlaintext()
        .defaultDeadline(Duration.ofSeconds(30)).build()) {
      CompletionRequest.Builder request = CompletionRequest.newBuilder()
          .setModel("sim")
          .setMaxTokens(16)
          .addMessages(Messages.user("What is the weather in Oslo, and what time is it there?"))
          .addTools(Tools.function("get_weather", "Current weather of a city", """
              {"type": "object",
               "properties": {"city": {"type": "string"},
                              "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["city", "unit"]}"""))
          .addTools(Tools.function("get_time", "Local time in a time zone", """
              {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}"""))
          .setParallelToolCalls(true);
      for (int round = 1; round <= MAX_ROUNDS; round++) {
        Completion answer;
        try (CompletionStream stream = client.stream(request.build())) {
          for (CompletionChunk chunk : stream) {
            out.print(chunk.getText()); // text, if the model answers; tool calls arrive in pieces
          }
          answer = stream.completion();
        }
        if (answer.getFinishReason() != FinishReason.FINISH_REASON_TOOL_CALLS) {
          out.println();
          out.println("answer: " + answer.getText());
          return 0;
        }
        request.addMessages(Messages.assistant(answer.getToolCallsList()));
        for (ToolCall call : answer.getToolCallsList()) {
          String result = runTool(call);
          out.println("tool call: " + call.getFunction().getName() + " " + call.getFunction().getArguments());
          out.println("tool result: " + result);
          request.addMessages(Messages.toolResult(call.getId(), result));
        }
      }
      out.println("error: no answer after " + MAX_ROUNDS + " rounds");
      return 1;
    } catch (LlmProxyException e) {
      out.println("error: " + e.getMessage());
      return 1;
    }
  }

  /** The local functions the model may call: made-up data, as JSON. */
  private static String runTool(ToolCall call) {
    Struct arguments = Tools.arguments(call);
    return switch (call.getFunction().getName()) {
      case "get_weather" -> "{\"city\": \"" + arguments.getFieldsOrThrow("city").getStringValue()
          + "\", \"temperature\": 4, \"unit\": \"" + arguments.getFieldsOrThrow("unit").getStringValue() + "\"}";
      case "get_time" -> "{\"zone\": \"" + arguments.getFieldsOrThrow("zone").getStringValue()
          + "\", \"time\": \"09:30\"}";
      default -> "{\"error\": \"no such function\"}";
    };
  }
}
