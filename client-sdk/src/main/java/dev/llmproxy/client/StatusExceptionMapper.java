package dev.llmproxy.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.BadRequest;
import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that turns a failed call's status, headers and trailers into the typed exception a
 * caller catches, reading the {@code google.rpc} details (RetryInfo, QuotaFailure, BadRequest) when
 * the proxy sent them.
 */
final class StatusExceptionMapper {
  static final Metadata.Key<String> RETRY_PUSHBACK_MS =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

  /** A field path at the start of a description, as in {@code max_tokens: -1 (expected: ...)}. */
  private static final Pattern FIELD_PREFIX = Pattern.compile(
      "^([A-Za-z_][A-Za-z0-9_]*(?:\\[\\d+])?(?:[./][A-Za-z_][A-Za-z0-9_]*(?:\\[\\d+])?)*): ");

  private StatusExceptionMapper() {}

  /**
   * The exception for a call that ended with the non-OK {@code status}.
   *
   * @param headers the response headers, or null if none arrived
   * @param trailers the trailers (for a trailers-only response, everything the server sent)
   * @param request the request that failed, to name what it asked for
   */
  static LlmProxyException toException(Status status, Metadata headers, Metadata trailers,
      CompletionRequest request) {
    ResponseMetadata metadata = ResponseMetadata.of(headers, trailers);
    List<Any> details = details(status, trailers);
    return switch (status.getCode()) {
      case RESOURCE_EXHAUSTED -> quotaOrPlain(status, metadata, details, trailers);
      case INVALID_ARGUMENT -> new InvalidRequestException(status, metadata, field(status, details));
      case UNAUTHENTICATED -> new UnauthenticatedException(status, metadata);
      case PERMISSION_DENIED -> new PermissionDeniedException(status, metadata, request.getModel());
      case NOT_FOUND -> new ModelNotFoundException(status, metadata, request.getModel());
      case UNAVAILABLE -> new UnavailableException(status, metadata);
      default -> new LlmProxyException(status, metadata);
    };
  }

  private static LlmProxyException quotaOrPlain(Status status, ResponseMetadata metadata, List<Any> details,
      Metadata trailers) {
    QuotaFailure quota = unpack(details, QuotaFailure.class);
    RetryInfo retry = unpack(details, RetryInfo.class);
    Duration pushback = pushback(trailers);
    if (quota == null && retry == null && pushback == null) {
      // Not a quota: e.g. a request larger than the proxy accepts. Nothing to wait for.
      return new LlmProxyException(status, metadata);
    }
    String description = status.getDescription() == null ? "" : status.getDescription();
    String keyId = null;
    if (quota != null && quota.getViolationsCount() > 0) {
      QuotaFailure.Violation violation = quota.getViolations(0);
      description = violation.getDescription().isEmpty() ? description : violation.getDescription();
      keyId = violation.getSubject().isEmpty() ? null : violation.getSubject();
    }
    Duration retryAfter = retry != null && retry.hasRetryDelay()
        ? Duration.ofSeconds(retry.getRetryDelay().getSeconds(), retry.getRetryDelay().getNanos())
        : pushback;
    return new QuotaExceededException(status, metadata, QuotaLimit.fromDescription(description), description,
        keyId, retryAfter);
  }

  /** The field a BadRequest detail names, else the field path that starts the description. */
  private static String field(Status status, List<Any> details) {
    BadRequest bad = unpack(details, BadRequest.class);
    if (bad != null && bad.getFieldViolationsCount() > 0 && !bad.getFieldViolations(0).getField().isEmpty()) {
      return bad.getFieldViolations(0).getField();
    }
    if (status.getDescription() == null) {
      return null;
    }
    Matcher m = FIELD_PREFIX.matcher(status.getDescription());
    return m.find() ? m.group(1) : null;
  }

  /**
   * The pushback the server asked for: {@code grpc-retry-pushback-ms}, or the copy that
   * {@link PushbackScopingTracerFactory} keeps away from the retry machinery. Null if absent, negative
   * (which means "do not retry") or not a number.
   */
  private static Duration pushback(Metadata trailers) {
    String value = trailers.get(RETRY_PUSHBACK_MS);
    if (value == null) {
      value = trailers.get(PushbackScopingTracerFactory.HELD_PUSHBACK_MS);
    }
    if (value == null) {
      return null;
    }
    try {
      long millis = Long.parseLong(value.trim());
      return millis < 0 ? null : Duration.ofMillis(millis);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static List<Any> details(Status status, Metadata trailers) {
    try {
      return StatusProto.fromStatusAndTrailers(status, trailers).getDetailsList();
    } catch (RuntimeException e) {
      // Details that do not parse, or whose code contradicts the status: the status alone still holds.
      return List.of();
    }
  }

  private static <T extends Message> T unpack(List<Any> details, Class<T> type) {
    for (Any detail : details) {
      if (detail.is(type)) {
        try {
          return detail.unpack(type);
        } catch (InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }
}
