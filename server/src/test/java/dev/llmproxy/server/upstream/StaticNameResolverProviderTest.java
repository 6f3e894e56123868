package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.NameResolver;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.NameResolver.ResolutionResult;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.grpc.Uri;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StaticNameResolverProviderTest {
  private final SynchronizationContext syncContext = new SynchronizationContext((t, e) -> {
    throw new AssertionError("uncaught in sync context", e);
  });
  /** Runs look-ups only when the test says so, proving they are not run on the calling thread. */
  private final Queue<Runnable> offloaded = new ArrayDeque<>();
  private final NameResolver.Args args = NameResolver.Args.newBuilder()
      .setDefaultPort(443)
      .setProxyDetector(address -> null)
      .setSynchronizationContext(syncContext)
      .setServiceConfigParser(new NameResolver.ServiceConfigParser() {
        @Override
        public ConfigOrError parseServiceConfig(Map<String, ?> rawServiceConfig) {
          return ConfigOrError.fromConfig(rawServiceConfig);
        }
      })
      .setOffloadExecutor(offloaded::add)
      .build();
  private final List<StatusOr<List<EquivalentAddressGroup>>> results = new ArrayList<>();
  private final List<String> lookedUp = new ArrayList<>();
  private final Map<String, List<InetAddress>> dns = Map.of(
      "llm-a.internal", List.of(address("10.0.0.5")),
      "llm-b.internal", List.of(address("10.0.0.6"), address("10.0.0.7")));
  private final StaticNameResolverProvider provider = new StaticNameResolverProvider(host -> {
    lookedUp.add(host);
    if (host.endsWith(".invalid")) {
      throw new UnknownHostException(host + ": Name or service not known");
    }
    List<InetAddress> found = dns.get(host);
    if (found == null) {
      return List.of(InetAddress.getByName(host)); // literals only; never a real DNS query here
    }
    return found;
  });

  @Test
  void isTheDefaultRegistrysProviderForTheStaticScheme() {
    assertThat(NameResolverRegistry.getDefaultRegistry().getProviderForScheme("static"))
        .isInstanceOf(StaticNameResolverProvider.class);
  }

  @Test
  void givesEachBackendItsOwnAddressGroup() {
    start("static:///10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002");

    assertThat(singleResult()).containsExactly(
        group(socket("10.0.0.1", 7000)), group(socket("10.0.0.2", 7001)),
        group(socket("10.0.0.3", 7002)));
  }

  @Test
  void givesAHostWithSeveralAddressesOneGroupHoldingThemAll() {
    start("static:///llm-a.internal:7000,llm-b.internal:7000");

    assertThat(singleResult()).containsExactly(
        group(socket("10.0.0.5", 7000)),
        group(socket("10.0.0.6", 7000), socket("10.0.0.7", 7000)));
  }

  @Test
  void resolvesIpv6LiteralsInBrackets() {
    NameResolver resolver = start(StaticNameResolverProvider.target(List.of("[::1]:7000")));

    assertThat(singleResult()).containsExactly(group(socket("::1", 7000)));
    assertThat(resolver.getServiceAuthority()).isEqualTo("[::1]:7000");
  }

  @Test
  void looksUpHostsOnTheOffloadExecutorNotTheCallingThread() {
    start("static:///llm-a.internal:7000", false);

    assertThat(lookedUp).isEmpty();
    assertThat(results).isEmpty();

    runOffloaded();
    assertThat(lookedUp).containsExactly("llm-a.internal");
    assertThat(results).hasSize(1);
  }

  @Test
  void looksUpAgainOnRefresh() {
    NameResolver resolver = start("static:///llm-a.internal:7000");

    syncContext.execute(resolver::refresh);
    runOffloaded();

    assertThat(lookedUp).containsExactly("llm-a.internal", "llm-a.internal");
    assertThat(results).hasSize(2);
  }

  @Test
  void reportsUnavailableNamingABackendThatDoesNotResolve() {
    start("static:///llm-a.internal:7000,nosuch.invalid:7000");

    Status status = results.get(0).getStatus();
    assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).isEqualTo("static resolver could not resolve "
        + "nosuch.invalid:7000 (UnknownHostException: nosuch.invalid: Name or service not known)"
        + " of static:///llm-a.internal:7000,nosuch.invalid:7000");
  }

  @Test
  void dropsALookUpThatFinishesAfterShutdown() {
    NameResolver resolver = start("static:///llm-a.internal:7000", false);

    syncContext.execute(resolver::shutdown);
    runOffloaded();

    assertThat(results).isEmpty();
  }

  @Test
  void usesTheTargetsAuthorityOrElseTheFirstBackend() {
    assertThat(start("static://llm-pool/10.0.0.1:7000,10.0.0.2:7000").getServiceAuthority())
        .isEqualTo("llm-pool");
    assertThat(start("static:///10.0.0.1:7000,10.0.0.2:7000").getServiceAuthority())
        .isEqualTo("10.0.0.1:7000");
  }

  @Test
  void acceptsRfc3986UrisAsWell() {
    NameResolver resolver = provider.newNameResolver(
        Uri.create("static:///%5B::1%5D:7000,10.0.0.1:7000"), args);
    syncContext.execute(() -> resolver.start(listener()));
    runOffloaded();

    assertThat(singleResult()).containsExactly(
        group(socket("::1", 7000)), group(socket("10.0.0.1", 7000)));
  }

  @Test
  void ignoresOtherSchemes() {
    assertThat(provider.newNameResolver(URI.create("dns:///llm-a.internal:7000"), args)).isNull();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      static:///a:1,llm-b      | entry 2 "llm-b" is malformed (expected: host:port, e.g. 10.0.0.5:7000, llm-a.internal:7000 or [::1]:7000)
      static:///a:1,:7000      | entry 2 ":7000" is malformed (expected: host:port
      static:///a:x            | entry 1 "a:x": port "x" (expected: a number from 1 to 65535)
      static:///a:             | entry 1 "a:": port "" (expected: a number from 1 to 65535)
      static:///a:0            | entry 1 "a:0": port 0 (expected: a number from 1 to 65535)
      static:///a:65536        | entry 1 "a:65536": port 65536 (expected: a number from 1 to 65535)
      static:///a:1,,b:2       | entry 2 is empty (expected: host:port
      static:///::1:7000       | entry 1 "::1:7000": an IPv6 address must be in brackets (expected: [address]:port, e.g. [::1]:7000)
      static:///%5B::1%5D      | entry 1 "[::1]" is malformed (expected: host:port
      static:///%5B::1%5D7000  | entry 1 "[::1]7000" is malformed (expected: host:port
      static:///%5Bllm%5D:7000 | entry 1 "[llm]:7000": brackets are for IPv6 addresses
      static:///a/b:7000       | entry 1 "a/b:7000" is malformed (expected: host:port
      static:///a:1,b:2,a:1    | entry 3 "a:1" repeats entry 1 (expected: each backend once)
      static:///               | names no backends (expected: static:///host1:port1,host2:port2)
      static://a:1,b:2         | has its backends in the authority (expected: static:///a:1,b:2, with three slashes)
      """)
  void rejectsAMalformedTargetNamingTheEntryAndWhatWasExpected(String target, String message) {
    assertThatThrownBy(() -> provider.newNameResolver(URI.create(target), args))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void aMalformedTargetFailsWhenTheChannelIsBuilt() {
    assertThatThrownBy(() -> Grpc.newChannelBuilder(
            "static:///10.0.0.1:7000,llm-b", InsecureChannelCredentials.create()).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("static target \"static:///10.0.0.1:7000,llm-b\": entry 2 \"llm-b\""
            + " is malformed (expected: host:port");
  }

  @Test
  void buildsATargetPercentEncodingIpv6Brackets() {
    assertThat(StaticNameResolverProvider.target(
            List.of("10.0.0.1:7000", " llm-a.internal:7001", "[::1]:7002", "[fe80::1%eth0]:7003")))
        .isEqualTo("static:///10.0.0.1:7000,llm-a.internal:7001,%5B::1%5D:7002,"
            + "%5Bfe80::1%25eth0%5D:7003");
  }

  @Test
  void refusesToBuildATargetFromBadEntries() {
    assertThatThrownBy(() -> StaticNameResolverProvider.target(List.of()))
        .hasMessageContaining("names no backends");
    assertThatThrownBy(() -> StaticNameResolverProvider.target(List.of("a:1", "b")))
        .hasMessageContaining("entry 2 \"b\" is malformed (expected: host:port");
    assertThatThrownBy(() -> StaticNameResolverProvider.target(List.of("a:1,b:2")))
        .hasMessageContaining("hostPorts[0]: \"a:1,b:2\" holds several entries");
  }

  private NameResolver start(String target) {
    return start(target, true);
  }

  private NameResolver start(String target, boolean runLookUps) {
    NameResolver resolver = provider.newNameResolver(URI.create(target), args);
    syncContext.execute(() -> resolver.start(listener()));
    if (runLookUps) {
      runOffloaded();
    }
    return resolver;
  }

  private NameResolver.Listener2 listener() {
    return new NameResolver.Listener2() {
      @Override
      public void onResult(ResolutionResult resolutionResult) {
        throw new AssertionError("expected onResult2");
      }

      @Override
      public Status onResult2(ResolutionResult resolutionResult) {
        results.add(resolutionResult.getAddressesOrError());
        return Status.OK;
      }

      @Override
      public void onError(Status error) {
        throw new AssertionError("expected onResult2, got " + error);
      }
    };
  }

  private void runOffloaded() {
    for (Runnable task = offloaded.poll(); task != null; task = offloaded.poll()) {
      task.run();
    }
  }

  private List<EquivalentAddressGroup> singleResult() {
    assertThat(results).hasSize(1);
    assertThat(results.get(0).hasValue()).as("resolved: %s", results.get(0)).isTrue();
    return results.get(0).getValue();
  }

  private static EquivalentAddressGroup group(InetSocketAddress... addresses) {
    return new EquivalentAddressGroup(List.of(addresses));
  }

  private static InetSocketAddress socket(String literal, int port) {
    return new InetSocketAddress(address(literal), port);
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
