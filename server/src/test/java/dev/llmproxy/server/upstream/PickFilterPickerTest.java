package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.upstream.FakeHelper.FakeSubchannel;
import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PickFilterPickerTest {
  private final List<FakeSubchannel> subchannels = new ArrayList<>();

  /** A child that rotates over three subchannels, as round robin does. */
  private final SubchannelPicker rotating = new SubchannelPicker() {
    private int next;

    @Override
    public PickResult pickSubchannel(PickSubchannelArgs args) {
      return PickResult.withSubchannel(subchannels.get(next++ % subchannels.size()));
    }
  };

  PickFilterPickerTest() {
    for (int i = 0; i < 3; i++) {
      subchannels.add(new FakeSubchannel(List.of(new EquivalentAddressGroup(address(i))),
          Attributes.newBuilder().set(PickFilterLoadBalancer.ADDRESSES, List.of(address(i))).build()));
    }
  }

  private static SocketAddress address(int i) {
    return new InetSocketAddress("127.0.0.1", 7000 + i);
  }

  private List<Integer> pick(PickFilterPicker picker, PickSubchannelArgs args, int times) {
    List<Integer> picked = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      picked.add(subchannels.indexOf(picker.pickSubchannel(args).getSubchannel()));
    }
    return picked;
  }

  @Test
  void skipsAnAvoidedUpstreamInTheRotation() {
    PickFilterPicker picker = new PickFilterPicker(rotating);
    assertThat(pick(picker, FakePickArgs.filtered(a -> a.equals(address(1))), 6)).doesNotContain(1)
        .contains(0, 2);
  }

  @Test
  void passesEveryPickThroughForACallWithoutAFilter() {
    PickFilterPicker picker = new PickFilterPicker(rotating);
    assertThat(pick(picker, FakePickArgs.DEFAULT, 6)).containsExactly(0, 1, 2, 0, 1, 2);
  }

  @Test
  void keepsTheFirstPickWhenEveryUpstreamIsAvoided() {
    PickFilterPicker picker = new PickFilterPicker(rotating);
    PickResult result = picker.pickSubchannel(FakePickArgs.filtered(a -> true));
    assertThat(result.getSubchannel()).isSameAs(subchannels.get(0));
  }

  @Test
  void passesOnAnErrorOrAWaitUnchanged() {
    PickResult error = PickResult.withError(Status.UNAVAILABLE);
    PickFilterPicker picker = new PickFilterPicker(new SubchannelPicker() {
      @Override
      public PickResult pickSubchannel(PickSubchannelArgs args) {
        return error;
      }
    });
    assertThat(picker.pickSubchannel(FakePickArgs.filtered(a -> true))).isSameAs(error);
  }

  @Test
  void theProviderParsesAChildPolicyAndRefusesAMissingOne() {
    PickFilterLoadBalancerProvider provider = new PickFilterLoadBalancerProvider();
    ConfigOrError ok = provider.parseLoadBalancingPolicyConfig(Map.of("childPolicy", List.of(Map.of("round_robin", Map.of()))));
    assertThat(ok.getError()).isNull();
    ConfigOrError missing = provider.parseLoadBalancingPolicyConfig(Map.of());
    assertThat(missing.getError().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(missing.getError().getDescription()).contains("childPolicy");
    ConfigOrError unknown = provider.parseLoadBalancingPolicyConfig(Map.of("childPolicy", List.of(Map.of("nope", Map.of()))));
    assertThat(unknown.getError()).isNotNull();
  }

  @Test
  void wrapsAServiceConfigsPolicyKeepingItsOtherSettings() {
    Map<String, ?> wrapped = PickFilterLoadBalancerProvider.wrap(Map.of(
        "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())),
        "healthCheckConfig", Map.of("serviceName", "llmproxy.v1.LlmProxy")));
    assertThat(wrapped.get("loadBalancingConfig")).isEqualTo(List.of(Map.of("llmproxy_pick_filter",
        Map.of("childPolicy", List.of(Map.of("round_robin", Map.of()))))));
    assertThat(wrapped.get("healthCheckConfig")).isEqualTo(Map.of("serviceName", "llmproxy.v1.LlmProxy"));
  }
}
