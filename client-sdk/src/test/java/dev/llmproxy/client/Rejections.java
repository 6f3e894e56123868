package dev.llmproxy.client;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import com.google.rpc.QuotaFailure;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;

/** Failures shaped the way llmproxy sends them (SPEC.md, status codes), for scripted servers and units. */
final class Rejections {
  static final Metadata.Key<String> PUSHBACK =
      Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> REMAINING_REQUESTS =
      Metadata.Key.of(ResponseMetadata.REMAINING_REQUESTS_HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private Rejections() {}

  /**
   * A quota rejection: RESOURCE_EXHAUSTED naming the limit and the key's id, RetryInfo and QuotaFailure
   * details, a {@code grpc-retry-pushback-ms} trailer and the key's remaining requests.
   */
  static StatusRuntimeException quota(String limit, String keyId, Duration retryAfter) {
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(Code.RESOURCE_EXHAUSTED_VALUE)
        .setMessage("quota exceeded for key '" + keyId + "': " + limit)
        .addDetails(Any.pack(RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
            .setSeconds(retryAfter.getSeconds()).setNanos(retryAfter.getNano())).build()))
        .addDetails(Any.pack(QuotaFailure.newBuilder().addViolations(QuotaFailure.Violation.newBuilder()
            .setSubject(keyId).setDescription(limit)).build()))
        .build();
    Metadata trailers = new Metadata();
    trailers.put(PUSHBACK, Long.toString(retryAfter.toMillis()));
    trailers.put(REMAINING_REQUESTS, "0");
    return StatusProto.toStatusRuntimeException(status, trailers);
  }

  /** RESOURCE_EXHAUSTED with only a pushback trailer, no details. */
  static StatusRuntimeException pushbackOnly(Status.Code code, long pushbackMillis) {
    Metadata trailers = new Metadata();
    trailers.put(PUSHBACK, Long.toString(pushbackMillis));
    return Status.fromCode(code).withDescription("try again later").asRuntimeException(trailers);
  }

  /** INVALID_ARGUMENT with a BadRequest detail naming {@code field}. */
  static StatusRuntimeException badRequest(String field, String description) {
    com.google.rpc.Status status = com.google.rpc.Status.newBuilder()
        .setCode(Code.INVALID_ARGUMENT_VALUE)
        .setMessage(description)
        .addDetails(Any.pack(BadRequest.newBuilder().addFieldViolations(BadRequest.FieldViolation.newBuilder()
            .setField(field).setDescription(description)).build()))
        .build();
    return StatusProto.toStatusRuntimeException(status);
  }
}
