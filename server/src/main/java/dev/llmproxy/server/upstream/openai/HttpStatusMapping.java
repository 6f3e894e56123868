package dev.llmproxy.server.upstream.openai;

import io.grpc.Status;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletionException;

/**
 * The one place where what an OpenAI-compatible upstream answered becomes a gRPC status for the
 * proxy's relay, which then fails over, avoids or ejects exactly as for a gRPC upstream:
 *
 * <table>
 *   <caption>HTTP answers and the status they become</caption>
 *   <tr><th>upstream</th><th>status</th><th>what the relay does</th></tr>
 *   <tr><td>refused, reset, timed out connecting, 5xx, 408</td><td>UNAVAILABLE</td>
 *       <td>fails over before the first chunk; counts toward ejection</td></tr>
 *   <tr><td>429</td><td>RESOURCE_EXHAUSTED (busy; {@code Retry-After} as pushback)</td>
 *       <td>fails over; avoids the upstream briefly, never ejects</td></tr>
 *   <tr><td>400, 413, 422 and other 4xx</td><td>INVALID_ARGUMENT with the engine's message</td>
 *       <td>passes it to the client; another upstream would say the same</td></tr>
 *   <tr><td>404</td><td>NOT_FOUND: the model is not served there</td><td>passes it to the client</td></tr>
 *   <tr><td>401, 403</td><td>UNAVAILABLE naming a misconfigured upstream credential</td>
 *       <td>fails over; the client is not at fault</td></tr>
 * </table>
 *
 * Engine messages are cut to {@value #MAX_MESSAGE} characters and dropped if they quote the prompt.
 */
final class HttpStatusMapping {
  static final int MAX_MESSAGE = 200;

  private HttpStatusMapping() {}

  /**
   * The status for an HTTP error answer.
   *
   * @param engineMessage the error body's message, or {@code null}
   * @param prompt a piece of the request's prompt, never to be repeated; may be empty
   */
  static Status forHttpStatus(int httpStatus, String engineMessage, String upstream, String prompt) {
    String said = engineMessage(engineMessage, prompt);
    String prefix = "upstream " + upstream + " answered HTTP " + httpStatus;
    if (httpStatus == 429) {
      return Status.RESOURCE_EXHAUSTED.withDescription(prefix + " (busy)" + said);
    }
    if (httpStatus == 401 || httpStatus == 403) {
      return Status.UNAVAILABLE.withDescription(prefix + ": it refused the proxy's credential"
          + " (check the route's api_key)");
    }
    if (httpStatus == 404) {
      return Status.NOT_FOUND.withDescription(prefix + ": model or endpoint not found" + said);
    }
    if (httpStatus >= 500 || httpStatus == 408 || httpStatus < 200) {
      return Status.UNAVAILABLE.withDescription(prefix + said);
    }
    if (httpStatus >= 400) {
      return Status.INVALID_ARGUMENT.withDescription(prefix + said);
    }
    return Status.INTERNAL.withDescription(prefix + ", not an event stream");
  }

  /**
   * The status for an error object in the stream ({@code data: {"error": ...}}): its code when it
   * is an HTTP status, else INTERNAL (the engine failed mid-generation).
   */
  static Status forStreamError(OpenAiEvent.OpenAiError error, String upstream, String prompt) {
    int code = 0;
    try {
      code = error.code() == null ? 0 : Integer.parseInt(error.code());
    } catch (NumberFormatException notHttp) {
      // e.g. "rate_limit_exceeded": keep INTERNAL unless the type says more
    }
    if (code >= 400 && code < 600 && code != 500) {
      return forHttpStatus(code, error.message(), upstream, prompt);
    }
    return Status.INTERNAL.withDescription("upstream " + upstream + " sent an error event"
        + engineMessage(error.message(), prompt));
  }

  /** The status for a failed exchange (connect, reset, timeout). */
  static Status forException(Throwable failure, String upstream) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t.getClass() == IOException.class && t.getCause() != null)
        && t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String what;
    if (t instanceof HttpConnectTimeoutException) {
      what = "timed out connecting";
    } else if (t instanceof ConnectException) {
      what = "refused the connection";
    } else if (t instanceof HttpTimeoutException) {
      what = "did not answer in time";
    } else if (t instanceof ClosedChannelException || t instanceof IOException) {
      what = "closed the connection" + (t.getMessage() == null ? "" : " (" + cut(t.getMessage()) + ")");
    } else {
      what = "could not be reached (" + t.getClass().getSimpleName() + ")";
    }
    return Status.UNAVAILABLE.withDescription("upstream " + upstream + " " + what).withCause(failure);
  }

  private static String engineMessage(String message, String prompt) {
    if (message == null || message.isBlank()) {
      return "";
    }
    if (prompt != null && prompt.length() >= 8 && message.contains(prompt)) {
      return ": (engine message withheld: it quotes the prompt)";
    }
    return ": " + cut(message);
  }

  private static String cut(String message) {
    String oneLine = message.replaceAll("\\s+", " ").strip();
    return oneLine.length() <= MAX_MESSAGE ? oneLine : oneLine.substring(0, MAX_MESSAGE) + "…";
  }
}
