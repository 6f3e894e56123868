package dev.llmproxy.server.auth;

import dev.llmproxy.server.service.ProxyContext;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Objects;

/**
 * Identifies the caller from the request headers alone: the key in the configured header (by
 * default {@code x-api-key}) or in {@code authorization: Bearer <key>}. A known key's id goes into
 * {@link ProxyContext#API_KEY_ID} for the interceptors after it. A call without a key is served
 * anonymously if the config has an anonymous tier, else refused; a key that is presented but
 * unknown is always refused. Refusals are {@code UNAUTHENTICATED}; neither they nor anything else
 * repeat the presented key.
 */
public final class ApiKeyServerInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "bearer ";
  private static final System.Logger LOG = System.getLogger(ApiKeyServerInterceptor.class.getName());

  private final Metadata.Key<String> header;
  private final HashedApiKeys keys;
  private final boolean allowsAnonymous;
  private final Counter missing;
  private final Counter unknown;
  private final Counter malformed;

  public ApiKeyServerInterceptor(AuthConfig config, MeterRegistry meters) {
    Objects.requireNonNull(config, "config");
    this.header = Metadata.Key.of(config.header(), Metadata.ASCII_STRING_MARSHALLER);
    this.keys = new HashedApiKeys(config.keys());
    this.allowsAnonymous = config.allowsAnonymous();
    this.missing = rejections(meters, "missing");
    this.unknown = rejections(meters, "unknown");
    this.malformed = rejections(meters, "malformed");
    for (ApiKeyConfig key : config.keys()) {
      if (key.plaintextDevOnly()) {
        LOG.log(System.Logger.Level.WARNING, "auth: key '" + key.id() + "' is configured in plaintext "
            + "(plaintext_dev_only), which is for development only; give its sha256 in production");
      }
    }
  }

  private static Counter rejections(MeterRegistry meters, String reason) {
    return Counter.builder("llmproxy.auth.rejections").tag("reason", reason)
        .description("Calls refused as UNAUTHENTICATED, by reason").register(meters);
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    String presented = headers.get(header);
    if (presented == null) {
      String authorization = headers.get(AUTHORIZATION);
      if (authorization != null) {
        if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
          malformed.increment();
          return refuse(call, "authorization: not a bearer token (expected: Bearer <key>)");
        }
        presented = authorization.substring(BEARER.length()).trim();
      }
    }
    if (presented == null) {
      if (allowsAnonymous) {
        return next.startCall(call, headers);
      }
      missing.increment();
      return refuse(call, "API key: missing (expected: header " + header.name()
          + " or authorization: Bearer <key>)");
    }
    String id = presented.isEmpty() ? null : keys.idOf(presented);
    if (id == null) {
      unknown.increment();
      return refuse(call, "API key: not recognised (expected: a configured key)");
    }
    return Contexts.interceptCall(Context.current().withValue(ProxyContext.API_KEY_ID, id), call, headers, next);
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, String why) {
    call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
