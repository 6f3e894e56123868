package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;

/**
 * A call to llmproxy failed. The subclasses are the cases a caller handles differently
 * ({@link QuotaExceededException}, {@link InvalidRequestException}, {@link UnauthenticatedException},
 * {@link PermissionDeniedException}, {@link ModelNotFoundException}, {@link UnavailableException}); any other failure, such as an
 * expired deadline ({@link Status.Code#DEADLINE_EXCEEDED}), a cancelled call or a request larger
 * than the proxy accepts, is an instance of this class with its {@link #code()}.
 *
 * <p>The message is the gRPC code and the proxy's description, which names what was wrong and what
 * was expected; it never contains the prompt or the API key. The gRPC failure is the cause.
 */
public class LlmProxyException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final String description;
  private final transient ResponseMetadata metadata;

  LlmProxyException(Status status, ResponseMetadata metadata) {
    super(status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()),
        status.asRuntimeException());
    this.code = status.getCode();
    this.description = status.getDescription() == null ? "" : status.getDescription();
    this.metadata = requireNonNull(metadata, "metadata");
  }

  /**
   * The gRPC status code the call ended with.
   *
   * @return the code
   */
  public Status.Code code() {
    return code;
  }

  /**
   * The proxy's description of the failure, without the code.
   *
   * @return the description; empty if the proxy gave none
   */
  public String description() {
    return description;
  }

  /**
   * The response headers and trailers of the failed call, such as the API key's remaining quota.
   *
   * @return the metadata; empty if none arrived
   */
  public ResponseMetadata metadata() {
    return metadata == null ? ResponseMetadata.empty() : metadata;
  }
}
