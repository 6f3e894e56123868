package dev.llmproxy.server.upstream.openai;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.inprocess.InProcessSocketAddress;
import dev.llmproxy.server.upstream.NameRefresh;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * Resolves a route channel's {@code llmproxy-openai:///route} target to the in-process addresses
 * of the route's OpenAI-compatible upstreams, which it finds in the channel's name-resolver
 * arguments ({@link OpenAiUpstreams#KEY}). Registered through {@code META-INF/services}.
 */
public final class OpenAiNameResolverProvider extends NameResolverProvider {
  /** The URI scheme of route channels over OpenAI-compatible upstreams. */
  public static final String SCHEME = "llmproxy-openai";

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InProcessSocketAddress.class);
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    return SCHEME.equals(targetUri.getScheme()) ? create(targetUri.toString(), args) : null;
  }

  @Override
  public NameResolver newNameResolver(io.grpc.Uri targetUri, NameResolver.Args args) {
    return SCHEME.equals(targetUri.getScheme()) ? create(targetUri.toString(), args) : null;
  }

  private NameResolver create(String targetUri, NameResolver.Args args) {
    OpenAiUpstreams upstreams = args.getArg(OpenAiUpstreams.KEY);
    if (upstreams == null) {
      throw new IllegalArgumentException(targetUri + ": a channel built without its OpenAI upstreams");
    }
    // A dns:/// target is looked up again every dns_refresh, the same setting as a gRPC route's.
    return new OpenAiNameResolver(upstreams, args.getSynchronizationContext(), args.getOffloadExecutor(),
        upstreams.route().resilience().dnsRefresh(), args.getArg(NameRefresh.KEY));
  }
}
