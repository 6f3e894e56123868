package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.util.ResourceLeakDetector;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NettyLeakDetectionTest {
  private ResourceLeakDetector.Level before;

  @BeforeEach
  void remember() {
    before = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.SIMPLE);
  }

  @AfterEach
  void restore() {
    ResourceLeakDetector.setLevel(before);
  }

  @Test
  void theProcessTurnsLeakDetectionOff() {
    Main.quietNettyLeakDetection(new Properties());

    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
  }

  @Test
  void anOperatorWhoAskedForItKeepsIt() {
    Properties asked = new Properties();
    asked.setProperty("io.grpc.netty.shaded.io.netty.leakDetection.level", "simple");

    Main.quietNettyLeakDetection(asked);

    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.SIMPLE);
  }
}
