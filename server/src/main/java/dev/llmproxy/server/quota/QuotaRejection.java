package dev.llmproxy.server.quota;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/**
 * The status a refused call gets: {@code RESOURCE_EXHAUSTED} naming the limits and the key's id,
 * with {@code google.rpc.RetryInfo} and {@code google.rpc.QuotaFailure} in the status details, the
 * {@code grpc-retry-pushback-ms} trailer that gRPC's retry honours, and the remaining-quota
 * headers. A call that needs more tokens than its window holds can never pass: it gets no
 * RetryInfo and a negative pushback, which tells gRPC clients not to retry.
 */
public record QuotaRejection(Status status, Metadata trailers) {
  public static final Metadata.Key<String> RETRY_PUSHBACK =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

  /** The rejection for a call {@code decision} refused. */
  public static QuotaRejection of(QuotaDecision decision, QuotaSubject subject, long tokens) {
    QuotaLimits limits = subject.limits();
    List<String> parts = new ArrayList<>();
    QuotaFailure.Builder failure = QuotaFailure.newBuilder();
    for (QuotaLimit limit : EnumSet.copyOf(decision.exceeded())) {
      String described = describe(limit, limits, tokens);
      parts.add(described);
      failure.addViolations(QuotaFailure.Violation.newBuilder()
          .setSubject(subject.id().equals(QuotaPolicy.ANONYMOUS) ? "anonymous" : "api_key:" + subject.id())
          .setDescription(described)
          .setApiService("llmproxy.v1.LlmProxy")
          .setQuotaMetric("llmproxy/" + limit.label())
          .setQuotaId(limit == QuotaLimit.CONCURRENCY ? "concurrent-calls-per-key" : limit.label() + "-per-window")
          .setQuotaValue(value(limit, limits)));
    }
    Duration retry = decision.retryAfter();
    String message = "quota exceeded for " + subject.describe() + ": " + String.join("; ", parts)
        + (retry == null ? "; this call can never fit: lower max_tokens or shorten the prompt"
            : "; retry after " + seconds(retry));
    com.google.rpc.Status.Builder details = com.google.rpc.Status.newBuilder()
        .setCode(Code.RESOURCE_EXHAUSTED_VALUE)
        .setMessage(message);
    if (retry != null) {
      details.addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
          .setSeconds(retry.getSeconds()).setNanos(retry.getNano())).build()));
    }
    details.addDetails(Any.pack(failure.build()));
    Metadata trailers = new Metadata();
    trailers.put(RETRY_PUSHBACK, retry == null ? "-1" : Long.toString(ceilMillis(retry)));
    SettlingServerCall.addRemaining(trailers, decision);
    StatusRuntimeException e = StatusProto.toStatusRuntimeException(details.build(), trailers);
    return new QuotaRejection(e.getStatus(), e.getTrailers());
  }

  private static String describe(QuotaLimit limit, QuotaLimits limits, long tokens) {
    String window = " per " + windowText(limits.window());
    return switch (limit) {
      case REQUESTS -> "requests limit " + limits.requests() + window + " reached";
      case TOKENS -> tokens > limits.tokens()
          ? "tokens limit " + limits.tokens() + window + " is below the " + tokens + " tokens this call needs"
          : "tokens limit " + limits.tokens() + window + " reached (this call needs " + tokens + ")";
      case CONCURRENCY -> "concurrent calls limit " + limits.maxConcurrent() + " reached";
    };
  }

  private static long value(QuotaLimit limit, QuotaLimits limits) {
    return switch (limit) {
      case REQUESTS -> limits.requests();
      case TOKENS -> limits.tokens();
      case CONCURRENCY -> limits.maxConcurrent();
    };
  }

  static String windowText(Duration window) {
    if (window.toMillis() == 0) {
      return "0";
    }
    if (window.toMillis() % 3_600_000 == 0) {
      return window.toHours() + "h";
    }
    if (window.toMillis() % 60_000 == 0) {
      return window.toMinutes() + "m";
    }
    if (window.toMillis() % 1000 == 0) {
      return window.toSeconds() + "s";
    }
    return window.toMillis() + "ms";
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1fs", Math.max(0.1, ceilMillis(d) / 1000.0));
  }

  private static long ceilMillis(Duration d) {
    long millis = d.toMillis();
    return d.minusMillis(millis).isZero() ? millis : millis + 1;
  }
}
