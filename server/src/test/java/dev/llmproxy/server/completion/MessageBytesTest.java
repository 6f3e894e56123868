package dev.llmproxy.server.completion;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MessageBytesTest {
  @Test
  void knowsItsLengthAndDrainsWhatIsLeftInOneWrite() throws Exception {
    MessageBytes bytes = new MessageBytes("chunk bytes".getBytes(StandardCharsets.UTF_8));
    assertThat(bytes.available()).isEqualTo(11);
    assertThat(bytes.read()).isEqualTo('c');

    int[] writes = {0};
    ByteArrayOutputStream target = new ByteArrayOutputStream() {
      @Override
      public synchronized void write(byte[] b, int off, int len) {
        writes[0]++;
        super.write(b, off, len);
      }
    };
    assertThat(bytes.drainTo(target)).isEqualTo(10);

    assertThat(target.toString(StandardCharsets.UTF_8)).isEqualTo("hunk bytes");
    assertThat(writes[0]).isEqualTo(1);
    assertThat(bytes.available()).isZero();
    assertThat(bytes.read()).isEqualTo(-1);
  }
}
