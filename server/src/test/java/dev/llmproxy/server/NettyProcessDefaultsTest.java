package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.netty.shaded.io.netty.util.ResourceLeakDetector;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NettyProcessDefaultsTest {
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
    NettyProcessDefaults.quietNettyLeakDetection(new Properties());

    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
  }

  @Test
  void anOperatorWhoAskedForItKeepsIt() {
    Properties asked = new Properties();
    asked.setProperty("io.grpc.netty.shaded.io.netty.leakDetection.level", "simple");

    NettyProcessDefaults.quietNettyLeakDetection(asked);

    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.SIMPLE);
  }

  @Test
  void theProcessTurnsTheRecyclerOff() {
    Properties properties = new Properties();

    NettyProcessDefaults.withoutNettyRecycler(properties);

    assertThat(properties.getProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread")).isEqualTo("0");
  }

  @Test
  void anOperatorsRecyclerCapacityIsKept() {
    Properties asked = new Properties();
    asked.setProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread", "4096");

    NettyProcessDefaults.withoutNettyRecycler(asked);

    assertThat(asked.getProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread")).isEqualTo("4096");
  }

  @Test
  void anOperatorsCapacityUnderTheOlderNameIsKeptToo() {
    Properties asked = new Properties();
    asked.setProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacity", "4096");

    NettyProcessDefaults.withoutNettyRecycler(asked);

    assertThat(asked.getProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread")).isNull();
  }

  @Test
  void applyingThemSetsBoth() {
    Properties properties = new Properties();

    NettyProcessDefaults.apply(properties);

    assertThat(properties.getProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread")).isEqualTo("0");
    assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.DISABLED);
  }
}
