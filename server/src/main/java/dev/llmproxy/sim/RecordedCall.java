package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import javax.annotation.Nullable;

/**
 * One call as a {@link SimulatedBackend} saw it: what arrived (fixed at the start) and how it went
 * (live, updated while the call runs). Times are {@link System#nanoTime()} readings. Thread-safe.
 */
public final class RecordedCall {
  /** How a call ended, or {@link #IN_FLIGHT} while it runs. */
  public enum Outcome {
    /** Queued or generating. */
    IN_FLIGHT,
    /** Closed with OK. */
    COMPLETED,
    /** Closed by the backend with an error: an injected fault, an invalid request, no capacity. */
    FAILED,
    /** Cancelled by the client, by its deadline, or by the backend's shutdown. */
    CANCELLED
  }

  private final String method;
  private final String completionId;
  private final CompletionRequest request;
  private final Metadata headers;
  @Nullable private final Duration deadlineRemainingAtStart;
  private final long startNanos;

  private volatile long admittedNanos;
  private volatile int tokensSent;
  private volatile long firstTokenNanos;
  private volatile long lastTokenNanos;
  // outcome, status and endNanos change together under this object's lock.
  private Outcome outcome = Outcome.IN_FLIGHT;
  @Nullable private Status status;
  private long endNanos;

  /**
   * A call that starts now, for a backend front-end to record.
   *
   * @param method what was called, such as {@code "StreamComplete"} or {@code "/v1/chat/completions"}
   */
  public RecordedCall(
      String method,
      String completionId,
      CompletionRequest request,
      Metadata headers,
      @Nullable Duration deadlineRemainingAtStart,
      long startNanos) {
    this.method = requireNonNull(method, "method");
    this.completionId = requireNonNull(completionId, "completionId");
    this.request = requireNonNull(request, "request");
    this.headers = copyOf(headers);
    this.deadlineRemainingAtStart = deadlineRemainingAtStart;
    this.startNanos = startNanos;
  }

  /**
   * What was called: {@code "Complete"} or {@code "StreamComplete"} through gRPC; the path, {@code
   * "/v1/chat/completions"} or {@code "/v1/completions"}, through the OpenAI-compatible API.
   */
  public String method() {
    return method;
  }

  /** The {@code id} of the completion this call answers (or would have answered). */
  public String completionId() {
    return completionId;
  }

  /** The request as received. */
  public CompletionRequest request() {
    return request;
  }

  /** A copy of the request headers. */
  public Metadata headers() {
    return copyOf(headers);
  }

  /** The call's deadline as the backend saw it when the call started; null if it had none. */
  @Nullable
  public Duration deadlineRemainingAtStart() {
    return deadlineRemainingAtStart;
  }

  /** When the backend started the call. */
  public long startNanos() {
    return startNanos;
  }

  /** When the call got a generation slot; 0 while queued or if it never got one. */
  public long admittedNanos() {
    return admittedNanos;
  }

  /** Tokens sent so far: chunks for a stream; for {@code Complete}, the tokens of its answer once sent. */
  public int tokensSent() {
    return tokensSent;
  }

  /** When the first token was sent; 0 if none was. */
  public long firstTokenNanos() {
    return firstTokenNanos;
  }

  /** When the latest token was sent; 0 if none was. */
  public long lastTokenNanos() {
    return lastTokenNanos;
  }

  /** How the call ended so far. */
  public synchronized Outcome outcome() {
    return outcome;
  }

  /** The status the call ended with ({@code DEADLINE_EXCEEDED} for an expired deadline); null in flight. */
  @Nullable
  public synchronized Status status() {
    return status;
  }

  /** When the call ended (for a cancelled call, when the cancellation reached the backend); 0 in flight. */
  public synchronized long endNanos() {
    return endNanos;
  }

  void admitted(long nanos) {
    admittedNanos = nanos;
  }

  /** Counts tokens sent at {@code nanos}; only ever called under the call's lock. */
  void addTokens(int count, long nanos) {
    if (firstTokenNanos == 0) {
      firstTokenNanos = nanos;
    }
    lastTokenNanos = nanos;
    tokensSent += count;
  }

  /** Records the end; returns false if the call had already ended. */
  synchronized boolean end(Outcome newOutcome, Status newStatus, long nanos) {
    if (outcome != Outcome.IN_FLIGHT) {
      return false;
    }
    outcome = newOutcome;
    status = newStatus;
    endNanos = nanos;
    return true;
  }

  @Override
  public synchronized String toString() {
    return method + "{id=" + completionId + ", outcome=" + outcome
        + (status == null ? "" : ", status=" + status.getCode())
        + ", tokensSent=" + tokensSent + "}";
  }

  private static Metadata copyOf(Metadata headers) {
    Metadata copy = new Metadata();
    copy.merge(headers);
    return copy;
  }
}
