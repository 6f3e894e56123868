package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EndpointUrlsTest {
  @Test
  void anEngineAddressGetsV1() {
    EndpointUrls urls = EndpointUrls.of("http://10.0.0.5:8000", "/health");
    assertThat(urls.chat()).hasToString("http://10.0.0.5:8000/v1/chat/completions");
    assertThat(urls.completions()).hasToString("http://10.0.0.5:8000/v1/completions");
    assertThat(urls.health()).hasToString("http://10.0.0.5:8000/health");
  }

  @Test
  void aBaseEndingInV1IsTheApiRoot() {
    EndpointUrls urls = EndpointUrls.of("https://api.example.com/v1/", "/v1/models");
    assertThat(urls.chat()).hasToString("https://api.example.com/v1/chat/completions");
    assertThat(urls.health()).hasToString("https://api.example.com/v1/models");
  }

  @Test
  void anotherBasePathIsKept() {
    assertThat(EndpointUrls.of("http://[::1]:8080/ollama", "/health").chat())
        .hasToString("http://[::1]:8080/ollama/v1/chat/completions");
  }
}
