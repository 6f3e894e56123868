package dev.llmproxy.server;

import io.grpc.netty.shaded.io.netty.util.ResourceLeakDetector;
import java.util.Properties;

/**
 * The two Netty settings a llmproxy process gives itself, each unless the operator set its property:
 * the object recycler and the leak detector off. {@code Main} applies them; so do the benchmarks'
 * floor instruments ({@code byte-relay}, {@code grpc-relay}), so that they and the proxy they bound
 * differ only in what they do per call. Tests do not come through here and keep Netty's defaults.
 */
public final class NettyProcessDefaults {
  private static final String RECYCLER_CAPACITY = "io.grpc.netty.shaded.io.netty.recycler.maxCapacityPerThread";

  private NettyProcessDefaults() {}

  /**
   * Applies both to this process, reading the operator's choices from {@code properties} (the
   * system properties). Call it first thing in {@code main}: Netty reads the recycler's property
   * once, when its first pooled object is made.
   */
  public static void apply(Properties properties) {
    withoutNettyRecycler(properties);
    quietNettyLeakDetection(properties);
  }

  /**
   * Netty's leak detector records a stack trace for one buffer in 128 it allocates: about 5% of the
   * event loops' time in a profile of paced streams (issue 11). The process turns it off unless the
   * operator set its property ({@code -Dio.grpc.netty.shaded.io.netty.leakDetection.level=simple}:
   * grpc shades Netty, property names included). Tests keep it, and still catch a leaked buffer.
   */
  static void quietNettyLeakDetection(Properties properties) {
    if (properties.getProperty("io.grpc.netty.shaded.io.netty.leakDetection.level") == null
        && properties.getProperty("io.grpc.netty.shaded.io.netty.leakDetectionLevel") == null) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
  }

  /**
   * Netty's object recycler (pooled buffer wrappers, write entries) costs more than it saves here: in
   * an async-profiler profile of paced streams its thread-local pools and queues were about 10% of
   * the event loops' time, and the same build with it off spent 11–13% less CPU per back-to-back
   * stream in two interleaved A/Bs (either order) and less per paced stream (issue 11, {@code
   * benchmarks/ab.sh}). The process turns it off unless the operator set its property.
   */
  static void withoutNettyRecycler(Properties properties) {
    if (properties.getProperty(RECYCLER_CAPACITY) == null
        && properties.getProperty("io.grpc.netty.shaded.io.netty.recycler.maxCapacity") == null) { // its older name
      properties.setProperty(RECYCLER_CAPACITY, "0");
    }
  }
}
