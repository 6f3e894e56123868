package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.inprocess.InProcessSocketAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class EndpointIdentityTest {
  @Test
  void aNetworkAddressIsItsHostAndPort() {
    assertThat(EndpointIdentity.of(new InetSocketAddress("127.0.0.1", 7000))).isEqualTo("127.0.0.1:7000");
    assertThat(EndpointIdentity.of(InetSocketAddress.createUnresolved("gpu-a.internal", 7000)))
        .isEqualTo("gpu-a.internal:7000");
  }

  @Test
  void anOpenAiUpstreamIsItsRouteAndBaseUrlWithoutThisProxysId() {
    InProcessSocketAddress one = new InProcessSocketAddress("llmproxy-openai/6f1c/chat/http://10.0.0.7:8000");
    InProcessSocketAddress other = new InProcessSocketAddress("llmproxy-openai/93ab/chat/http://10.0.0.7:8000");

    assertThat(EndpointIdentity.of(one)).isEqualTo("chat/http://10.0.0.7:8000").isEqualTo(EndpointIdentity.of(other));
  }

  @Test
  void anEndpointWithSeveralAddressesNamesThemAll() {
    assertThat(EndpointIdentity.of(List.of(new InetSocketAddress("10.0.0.1", 1), new InetSocketAddress("10.0.0.2", 1))))
        .isEqualTo("10.0.0.1:1,10.0.0.2:1");
  }
}
