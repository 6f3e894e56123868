package dev.llmproxy.sim.openai;

import io.grpc.Status;

/**
 * The one place where the simulated backend's gRPC status codes meet HTTP: the status an OpenAI-style
 * server answers for a code, the code recorded for an HTTP error, and the {@code type} of an OpenAI
 * error body for a status.
 */
final class HttpErrorMapping {
  private HttpErrorMapping() {}

  /** The HTTP status for a gRPC code, as an OpenAI-compatible server would answer. */
  static int httpStatus(Status.Code code) {
    return switch (code) {
      case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
  }

  /** The gRPC code recorded for a call that the backend answered with HTTP {@code status}. */
  static Status.Code grpcCode(int status) {
    return switch (status) {
      case 400, 413, 422 -> Status.Code.INVALID_ARGUMENT;
      case 401 -> Status.Code.UNAUTHENTICATED;
      case 403 -> Status.Code.PERMISSION_DENIED;
      case 404 -> Status.Code.NOT_FOUND;
      case 409 -> Status.Code.ABORTED;
      case 429 -> Status.Code.RESOURCE_EXHAUSTED;
      case 501 -> Status.Code.UNIMPLEMENTED;
      case 502, 503 -> Status.Code.UNAVAILABLE;
      case 504 -> Status.Code.DEADLINE_EXCEEDED;
      default -> status < 500 ? Status.Code.FAILED_PRECONDITION : Status.Code.INTERNAL;
    };
  }

  /** The {@code error.type} of an OpenAI error body for HTTP {@code status}. */
  static String errorType(int status) {
    return switch (status) {
      case 400, 413, 422 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "NotFoundError";
      case 429 -> "rate_limit_error";
      case 503 -> "service_unavailable";
      default -> status < 500 ? "invalid_request_error" : "internal_error";
    };
  }
}
