package dev.llmproxy.client.example;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.ServerConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's example program against the demo proxy (three embedded simulated upstreams). */
@Timeout(60)
class QuickstartExampleE2ETest {

  @Test
  void printsTheCompletionTheSameTextStreamedAndATypedError() throws Exception {
    ProxyConfig demo = ProxyConfig.demo();
    demo = demo.withServer(ServerConfig.defaults().withAddress("127.0.0.1", 0));
    try (ProxyServer proxy = ProxyServer.start(demo)) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      int status = QuickstartExample.run(new String[] {"127.0.0.1:" + proxy.port(), "Hello", "example"}, null,
          new PrintStream(bytes, true, StandardCharsets.UTF_8));
      String out = bytes.toString(StandardCharsets.UTF_8);

      assertThat(status).as(out).isZero();
      Matcher complete = Pattern.compile("(?m)^complete: (.+)$").matcher(out);
      Matcher stream = Pattern.compile("(?m)^stream:   (.+)$").matcher(out);
      assertThat(complete.find()).as(out).isTrue();
      assertThat(stream.find()).as(out).isTrue();
      assertThat(stream.group(1)).isEqualTo(complete.group(1));
      assertThat(out).containsPattern("upstream default-sim-[123], cache ")
          .contains("error:    no route for model 'no-such-model' (NOT_FOUND)");
    }
  }
}
