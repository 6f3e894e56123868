package dev.llmproxy.client.example;

import dev.llmproxy.client.CompletionStream;
import dev.llmproxy.client.LlmProxyClient;
import dev.llmproxy.client.ModelNotFoundException;
import dev.llmproxy.client.QuotaExceededException;
import dev.llmproxy.client.Response;
import dev.llmproxy.client.UnavailableException;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;

/**
 * The Java SDK in one program: a whole completion with its response metadata, the same request
 * streamed token by token, and the typed errors. It is compiled by every build and run by
 * {@code QuickstartExampleE2ETest} against a real proxy.
 *
 * <p>Against the demo ({@code java -jar server/target/llmproxy-server.jar}):
 * <pre>
 * ./mvnw -q -pl client-sdk test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp "client-sdk/target/test-classes:client-sdk/target/classes:$(cat client-sdk/target/cp.txt)" \
 *   dev.llmproxy.client.example.QuickstartExample 127.0.0.1:50051 "Tell me about gRPC"
 * </pre>
 * Arguments: the proxy's {@code host:port} (default {@code 127.0.0.1:50051}) and a prompt. The API key,
 * if any, is read from {@code LLMPROXY_API_KEY}.
 */
public final class QuickstartExample {
  private QuickstartExample() {}

  /**
   * Runs the example and exits with its status.
   *
   * @param args the proxy's address, then the prompt
   */
  public static void main(String[] args) {
    System.exit(run(args, System.getenv("LLMPROXY_API_KEY"), System.out));
  }

  /**
   * Runs the example, printing to {@code out}.
   *
   * @param args the proxy's address, then the prompt
   * @param apiKey the API key, or null to call anonymously
   * @param out where to print
   * @return 0 on success, 1 if the proxy refused or could not serve the calls
   */
  public static int run(String[] args, String apiKey, PrintStream out) {
    String target = args.length > 0 ? args[0] : "127.0.0.1:50051";
    String prompt = args.length > 1 ? String.join(" ", Arrays.copyOfRange(args, 1, args.length))
        : "Tell me about gRPC";

    LlmProxyClient.Builder builder = LlmProxyClient.builder(target)
        .usePlaintext()                        // the demo listens without TLS
        .defaultDeadline(Duration.ofSeconds(30));
    if (apiKey != null && !apiKey.isEmpty()) {
      builder.apiKey(apiKey);
    }
    try (LlmProxyClient client = builder.build()) {
      CompletionRequest request = CompletionRequest.newBuilder().setPrompt(prompt).setMaxTokens(24).build();

      // 1. The whole answer at once, with what the proxy said about it.
      Response<Completion> answer = client.completeWithResponse(request);
      out.println("complete: " + answer.value().getText());
      out.println("  upstream " + answer.metadata().upstream().orElse("(none: cache hit)")
          + ", cache " + answer.metadata().cacheStatus().map(Enum::name).orElse("(not reported)")
          + ", requests left " + answer.metadata().remainingRequests().stream().boxed().findFirst()
              .map(String::valueOf).orElse("(not reported)"));

      // 2. The same request streamed: each token printed as it arrives. Leaving the block early
      //    (break, exception) closes the stream, which cancels the generation upstream.
      out.print("stream:   ");
      try (CompletionStream stream = client.stream(request)) {
        for (CompletionChunk chunk : stream) {
          out.print(chunk.getText());
          out.flush();
        }
      }
      out.println();

      // 3. A typed error: no route serves this model.
      try {
        client.complete(request.toBuilder().setModel("no-such-model").build());
      } catch (ModelNotFoundException e) {
        out.println("error:    no route for model '" + e.model() + "' (" + e.code() + ")");
      }
      return 0;
    } catch (QuotaExceededException e) {
      out.println("over quota: the " + e.limit() + " limit of key " + e.keyId().orElse("?") + "; retry after "
          + e.retryAfter().map(Duration::toString).orElse("(not said)"));
      return 1;
    } catch (UnavailableException e) {
      out.println("proxy unavailable at " + target + ": " + e.description());
      return 1;
    }
  }
}
