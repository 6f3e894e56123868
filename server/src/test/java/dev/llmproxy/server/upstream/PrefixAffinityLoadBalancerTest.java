package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.READY;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer.ResolvedAddresses;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PrefixAffinityLoadBalancerTest {
  private final FakeHelper helper = new FakeHelper();
  private final PrefixAffinityLoadBalancer balancer = new PrefixAffinityLoadBalancer(helper, new Random(2), System::nanoTime);

  @AfterEach
  void shutDown() {
    helper.syncContext.execute(balancer::shutdown);
  }

  @Test
  void anUpstreamThatGoesDownMovesOnlyItsOwnPrefixesAndGetsThemBackWhenItReturns() {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      groups.add(new EquivalentAddressGroup(new InetSocketAddress("10.0.0." + i, 7000)));
    }
    helper.syncContext.execute(() -> balancer.acceptResolvedAddresses(ResolvedAddresses.newBuilder()
        .setAddresses(groups).setAttributes(Attributes.EMPTY)
        .setLoadBalancingPolicyConfig(new PrefixAffinityLoadBalancerProvider.Config(1.25)).build()));
    for (int i = 0; i < 4; i++) {
      setState(i, ConnectivityStateInfo.forNonError(READY));
    }
    Map<Long, Integer> before = homes();

    setState(2, ConnectivityStateInfo.forTransientFailure(Status.UNAVAILABLE));
    Map<Long, Integer> during = homes();
    setState(2, ConnectivityStateInfo.forNonError(READY));

    int moved = 0;
    for (Map.Entry<Long, Integer> key : before.entrySet()) {
      if (key.getValue() == 2) {
        assertThat(during.get(key.getKey())).isNotEqualTo(2);
        moved++;
      } else {
        assertThat(during.get(key.getKey())).as("a prefix of another upstream stays").isEqualTo(key.getValue());
      }
    }
    assertThat(moved).isPositive();
    assertThat(homes()).isEqualTo(before);
  }

  private Map<Long, Integer> homes() {
    Map<Long, Integer> homes = new HashMap<>();
    Random keys = new Random(9);
    for (int i = 0; i < 400; i++) {
      long key = keys.nextLong();
      homes.put(key, helper.subchannels.indexOf(helper.picker.pickSubchannel(new FakePickArgs(
          CallOptions.DEFAULT.withOption(AffinityKey.CALL_OPTION, new AffinityKey(key)))).getSubchannel()));
    }
    return homes;
  }

  private void setState(int subchannel, ConnectivityStateInfo state) {
    helper.syncContext.execute(() -> helper.subchannels.get(subchannel).setState(state));
  }
}
