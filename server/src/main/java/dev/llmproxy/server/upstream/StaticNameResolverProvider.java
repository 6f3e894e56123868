package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Uri;
import java.net.URI;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.Executor;

/**
 * Name resolver for a fixed list of upstreams: {@code static:///host1:port1,host2:port2}, IPv6 as
 * {@code [::1]:port}. Each backend becomes its own {@link io.grpc.EquivalentAddressGroup}, so
 * {@code round_robin} and {@code least_outstanding} balance over all of them (one group holding
 * every address would mean "one server, many addresses" and send everything to the first).
 *
 * <p>Build targets with {@link #target(List)}: a target string must be a valid URI, so brackets of
 * IPv6 literals are percent-encoded ({@code static:///%5B::1%5D:7000}); gRPC rejects a raw
 * {@code [} before any resolver sees it. A malformed list fails when the channel is built, with an
 * {@link IllegalArgumentException} naming the bad entry. Host names are looked up on the channel's
 * offload executor, again on every refresh. The target's authority, if any
 * ({@code static://llm-pool/...}), becomes the channel's authority; otherwise the first backend's.
 *
 * <p>Registered through {@code META-INF/services/io.grpc.NameResolverProvider}, so every channel
 * built from the default registry understands the {@code static} scheme.
 */
public final class StaticNameResolverProvider extends NameResolverProvider {
  /** The URI scheme this provider resolves. */
  public static final String SCHEME = "static";

  private final StaticNameResolver.HostResolver hostResolver;

  /** Resolves host names with the system resolver ({@link java.net.InetAddress}). */
  public StaticNameResolverProvider() {
    this(StaticNameResolver.HostResolver.SYSTEM);
  }

  StaticNameResolverProvider(StaticNameResolver.HostResolver hostResolver) {
    this.hostResolver = requireNonNull(hostResolver, "hostResolver");
  }

  /**
   * Builds a {@code static:///} target from {@code host:port} entries, validating each and
   * percent-encoding what a URI cannot carry raw (the brackets of IPv6 literals).
   *
   * @param hostPorts backends such as {@code "10.0.0.5:7000"}, {@code "llm-a:7000"} or
   *     {@code "[::1]:7000"}
   * @throws IllegalArgumentException if the list is empty or an entry is malformed or repeated
   */
  public static String target(List<String> hostPorts) {
    requireNonNull(hostPorts, "hostPorts");
    for (int i = 0; i < hostPorts.size(); i++) {
      String entry = requireNonNull(hostPorts.get(i), "hostPorts[" + i + "]");
      if (entry.indexOf(',') >= 0) {
        throw new IllegalArgumentException("hostPorts[" + i + "]: \"" + entry
            + "\" holds several entries (expected: one " + StaticTarget.EXPECTED + " per element)");
      }
    }
    String list = String.join(",", hostPorts);
    StaticTarget parsed = StaticTarget.parse(list, SCHEME + ":///" + list);
    StringJoiner target = new StringJoiner(",", SCHEME + ":///", "");
    for (HostPort backend : parsed.backends()) {
      target.add(backend.toString().replace("%", "%25").replace("[", "%5B").replace("]", "%5D"));
    }
    return target.toString();
  }

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
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    return create(targetUri.toString(), targetUri.getAuthority(), targetUri.getPath(), args);
  }

  @Override
  public NameResolver newNameResolver(Uri targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    return create(targetUri.toString(), targetUri.getAuthority(), targetUri.getPath(), args);
  }

  private StaticNameResolver create(
      String target, String authority, String path, NameResolver.Args args) {
    String list = path == null || path.isEmpty() ? "" : path.substring(1);
    boolean hasAuthority = authority != null && !authority.isEmpty();
    if (list.isBlank() && hasAuthority) {
      throw new IllegalArgumentException("static target \"" + target
          + "\" has its backends in the authority (expected: static:///" + authority
          + ", with three slashes)");
    }
    if (path != null && !path.isEmpty() && !path.startsWith("/")) {
      throw new IllegalArgumentException("static target \"" + target
          + "\" is malformed (expected: static:///host1:port1,host2:port2)");
    }
    List<HostPort> backends = StaticTarget.parse(list, target).backends();
    Executor offload = args.getOffloadExecutor();
    if (offload == null) {
      // Channels always pass one; this covers Args built by hand. Look-ups are rare, so a
      // short-lived thread each is fine.
      offload = task -> {
        Thread thread = new Thread(task, "static-resolver " + target);
        thread.setDaemon(true);
        thread.start();
      };
    }
    // An IPv6 zone's '%' must be escaped in an authority (RFC 6874).
    String serviceAuthority =
        hasAuthority ? authority : backends.get(0).toString().replace("%", "%25");
    return new StaticNameResolver(target, serviceAuthority, backends, hostResolver,
        args.getSynchronizationContext(), offload);
  }
}
