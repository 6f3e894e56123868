package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import org.junit.jupiter.api.Test;

class ResponseMetadataTest {
  private static Metadata headers(String... nameValues) {
    Metadata m = new Metadata();
    for (int i = 0; i < nameValues.length; i += 2) {
      m.put(Metadata.Key.of(nameValues[i], Metadata.ASCII_STRING_MARSHALLER), nameValues[i + 1]);
    }
    return m;
  }

  @Test
  void readsCacheUpstreamAndRemainingQuota() {
    ResponseMetadata m = ResponseMetadata.of(headers("llmproxy-cache", "coalesced", "llmproxy-upstream", "gpu-b",
        "llmproxy-ratelimit-remaining-requests", "9", "llmproxy-ratelimit-remaining-tokens", "12000"));

    assertThat(m.cacheStatus()).contains(CacheStatus.COALESCED);
    assertThat(m.upstream()).contains("gpu-b");
    assertThat(m.remainingRequests()).hasValue(9);
    assertThat(m.remainingTokens()).hasValue(12000);
    assertThat(m.get("LLMPROXY-UPSTREAM")).contains("gpu-b");
  }

  @Test
  void absentOrMalformedValuesReadAsEmpty() {
    ResponseMetadata m = ResponseMetadata.of(headers("llmproxy-cache", "lukewarm",
        "llmproxy-ratelimit-remaining-requests", "many"));

    assertThat(m.cacheStatus()).isEmpty();
    assertThat(m.remainingRequests()).isEmpty();
    assertThat(m.remainingTokens()).isEmpty();
    assertThat(m.upstream()).isEmpty();
    assertThat(ResponseMetadata.of().asMap()).isEmpty();
  }

  @Test
  void headersWinOverTrailersAndBinaryValuesAreLeftOut() {
    Metadata trailers = headers("llmproxy-upstream", "from-trailers", "llmproxy-cache", "miss");
    trailers.put(Metadata.Key.of("x-blob-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[] {1, 2});

    ResponseMetadata m = ResponseMetadata.of(headers("llmproxy-upstream", "from-headers"), null, trailers);

    assertThat(m.upstream()).contains("from-headers");
    assertThat(m.cacheStatus()).contains(CacheStatus.MISS);
    assertThat(m.asMap()).doesNotContainKey("x-blob-bin");
  }
}
