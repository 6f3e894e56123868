package dev.llmproxy.client.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.ServerConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The tool-calling example loop against the demo proxy (three embedded simulated upstreams). */
@Timeout(60)
class ToolCallingExampleE2ETest {

  @Test
  void callsBothToolsFeedsTheirResultsBackAndEndsWithTheModelsAnswer() throws Exception {
    ProxyConfig demo = ProxyConfig.demo().withServer(ServerConfig.defaults().withAddress("127.0.0.1", 0));
    try (ProxyServer proxy = ProxyServer.start(demo)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      int status = ToolCallingExample.run("127.0.0.1:" + proxy.port(),
          new PrintStream(bytes, true, StandardCharsets.UTF_8));
      String out = bytes.toString(StandardCharsets.UTF_8);

      assertThat(status).as(out).isZero();
      assertThat(out).containsPattern("(?m)^tool call: get_weather \\{\"city\":\"\\w+[^\"]*\",\"unit\":\"(celsius|fahrenheit)\"\\}$")
          .containsPattern("(?m)^tool call: get_time \\{\"zone\":\"[^\"]+\"\\}$")
          .containsPattern("(?m)^tool result: \\{\"city\": ")
          .containsPattern("(?m)^answer: \\S+");
    }
  }
}
