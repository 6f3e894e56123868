package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.READY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.shed.ManualScheduler;
import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.Channel;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.ResolvedAddresses;
import io.grpc.util.ForwardingLoadBalancerHelper;
import io.grpc.util.ForwardingSubchannel;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** least_loaded with out-of-band reports: each subchannel's backend is a {@link FakeOrcaServer}. */
class LeastLoadedLoadBalancerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final LeastLoadedLoadBalancerProvider.Config OUT_OF_BAND =
      new LeastLoadedLoadBalancerProvider.Config(Duration.ofMinutes(1), Duration.ofMillis(500));

  private final FakeHelper fake = new FakeHelper();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final List<FakeOrcaServer> servers = new ArrayList<>();
  private final List<EquivalentAddressGroup> addresses = new ArrayList<>();
  private final LoadBalancer.Helper helper = new ForwardingLoadBalancerHelper() {
    @Override
    protected LoadBalancer.Helper delegate() {
      return fake;
    }

    @Override
    public LoadBalancer.Subchannel createSubchannel(LoadBalancer.CreateSubchannelArgs args) {
      FakeSubchannel subchannel = (FakeSubchannel) fake.createSubchannel(args);
      FakeOrcaServer server = servers.get(addresses.indexOf(args.getAddresses().get(0)));
      return new ForwardingSubchannel() {
        @Override
        protected LoadBalancer.Subchannel delegate() {
          return subchannel;
        }

        @Override
        public Channel asChannel() {
          return server.channel();
        }
      };
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService() {
      return scheduler;
    }
  };
  private final LeastLoadedLoadBalancer balancer = new LeastLoadedLoadBalancer(helper, new Random(5), System::nanoTime);

  @AfterEach
  void stop() {
    fake.syncContext.execute(balancer::shutdown);
    servers.forEach(FakeOrcaServer::close);
  }

  @Test
  void outOfBandReportsSteerPicksToTheLessLoadedEngine() throws Exception {
    accept(2, OUT_OF_BAND);
    ready(0);
    ready(1);
    await().atMost(WAIT).until(() -> servers.get(0).requested.size() == 1 && servers.get(1).requested.size() == 1);
    assertThat(servers.get(0).requested).containsExactly(Duration.ofMillis(500));

    servers.get(0).report(8);
    servers.get(1).report(0);

    await().atMost(WAIT).until(() -> picked(50).equals(Set.of(address(1))));
    servers.get(0).report(0);
    servers.get(1).report(8);
    await().atMost(WAIT).until(() -> picked(50).equals(Set.of(address(0))));
  }

  @Test
  void opensNoStreamsUnlessAskedTo() throws Exception {
    accept(2, new LeastLoadedLoadBalancerProvider.Config(Duration.ofMinutes(1), null));
    ready(0);
    ready(1);

    assertThat(picked(50)).hasSize(2);
    assertThat(servers).allSatisfy(server -> assertThat(server.attempts).hasValue(0));
  }

  @Test
  void anEndpointThatLeavesClosesItsStream() throws Exception {
    accept(2, OUT_OF_BAND);
    ready(0);
    ready(1);
    await().atMost(WAIT).until(() -> servers.get(1).streams.size() == 1);

    resolve(addresses.subList(0, 1), OUT_OF_BAND);

    await().atMost(WAIT).until(() -> servers.get(1).streams.get(0).isCancelled());
    assertThat(servers.get(0).streams.get(0).isCancelled()).isFalse();
  }

  private void accept(int endpoints, Object config) throws Exception {
    for (int i = 0; i < endpoints; i++) {
      servers.add(new FakeOrcaServer(true));
      addresses.add(new EquivalentAddressGroup(new InetSocketAddress("10.0.0." + (i + 1), 7000)));
    }
    resolve(addresses, config);
  }

  private void resolve(List<EquivalentAddressGroup> groups, Object config) {
    fake.syncContext.execute(() -> assertThat(balancer.acceptResolvedAddresses(ResolvedAddresses.newBuilder()
        .setAddresses(List.copyOf(groups)).setAttributes(Attributes.EMPTY)
        .setLoadBalancingPolicyConfig(config).build()).isOk()).isTrue());
  }

  private void ready(int endpoint) {
    fake.syncContext.execute(() -> fake.subchannels.get(endpoint).setState(ConnectivityStateInfo.forNonError(READY)));
  }

  private SocketAddress address(int endpoint) {
    return addresses.get(endpoint).getAddresses().get(0);
  }

  private Set<SocketAddress> picked(int picks) {
    Set<SocketAddress> picked = new HashSet<>();
    for (int i = 0; i < picks; i++) {
      PickResult result = fake.picker.pickSubchannel(FakePickArgs.DEFAULT);
      picked.add(result.getSubchannel().getAllAddresses().get(0).getAddresses().get(0));
    }
    return picked;
  }
}
