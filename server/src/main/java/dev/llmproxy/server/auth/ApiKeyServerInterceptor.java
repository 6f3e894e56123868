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
 * unknown is always refused. So is a call whose credentials disagree: the key header twice, two
 * {@code authorization} headers, or a key header and a bearer token that is another key; which
 * one the caller meant is not the proxy's to guess. Refusals are {@code UNAUTHENTICATED}; neither
 * they nor anything else repeat the presented key.
 */
public final class ApiKeyServerInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "bearer ";
  /** Marks a header given more than once (compared by identity). */
  private static final String AMBIGUOUS = new String("(ambiguous)");
  private static final System.Logger LOG = System.getLogger(ApiKeyServerInterceptor.class.getName());

  private final Metadata.Key<String> header;
  private final HashedApiKeys keys;
  private final boolean allowsAnonymous;
  private final Counter missing;
  private final Counter unknown;
  private final Counter malformed;
  private final Counter ambiguous;

  public ApiKeyServerInterceptor(AuthConfig config, MeterRegistry meters) {
    Objects.requireNonNull(config, "config");
    this.header = Metadata.Key.of(config.header(), Metadata.ASCII_STRING_MARSHALLER);
    this.keys = new HashedApiKeys(config.keys());
    this.allowsAnonymous = config.allowsAnonymous();
    this.missing = rejections(meters, "missing");
    this.unknown = rejections(meters, "unknown");
    this.malformed = rejections(meters, "malformed");
    this.ambiguous = rejections(meters, "ambiguous");
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
    String presented = single(headers, header);
    String authorization = single(headers, AUTHORIZATION);
    if (presented == AMBIGUOUS || authorization == AMBIGUOUS) {
      ambiguous.increment();
      return refuse(call, "ambiguous credentials: " + (presented == AMBIGUOUS ? header.name() : AUTHORIZATION.name())
          + " given more than once (expected: one key)");
    }
    if (authorization != null) {
      boolean bearer = authorization.regionMatches(true, 0, BEARER, 0, BEARER.length());
      if (presented == null) {
        if (!bearer) {
          malformed.increment();
          return refuse(call, "authorization: not a bearer token (expected: Bearer <key>)");
        }
        presented = authorization.substring(BEARER.length()).trim();
      } else if (bearer && !authorization.substring(BEARER.length()).trim().equals(presented)) {
        ambiguous.increment();
        return refuse(call, "ambiguous credentials: " + header.name()
            + " and authorization: Bearer carry different keys (expected: one key)");
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

  /** The header's only value; null if absent, {@link #AMBIGUOUS} if given more than once. */
  private static String single(Metadata headers, Metadata.Key<String> key) {
    Iterable<String> values = headers.getAll(key);
    if (values == null) {
      return null;
    }
    var it = values.iterator();
    String first = it.next();
    return it.hasNext() ? AMBIGUOUS : first;
  }

  private static <ReqT, RespT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, RespT> call, String why) {
    call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
