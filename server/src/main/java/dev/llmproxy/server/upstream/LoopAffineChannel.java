package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A route's channel split into one lane per event loop: each lane is a complete channel (its own
 * connections, load balancing and health checks) whose connections live on one loop. A call takes
 * the lane of the loop it is started on, which is the loop of the client connection it relays for,
 * so every chunk of the answer is read from the upstream and written to the client on one thread:
 * no hand-off between loops, no wake-up of another thread per chunk. A call started elsewhere (a
 * timer, a quota store's reply thread, a health watch) takes the lanes in turn.
 */
final class LoopAffineChannel extends ManagedChannel {
  private final EventLoop[] loops;
  private final ManagedChannel[] lanes;
  private final AtomicInteger next = new AtomicInteger();

  LoopAffineChannel(List<EventLoop> loops, List<ManagedChannel> lanes) {
    if (loops.size() != lanes.size() || lanes.isEmpty()) {
      throw new IllegalArgumentException("lanes: " + lanes.size() + " (expected: one per loop, " + loops.size() + ")");
    }
    this.loops = loops.toArray(new EventLoop[0]);
    this.lanes = lanes.toArray(new ManagedChannel[0]);
  }

  private ManagedChannel lane() {
    for (int i = 0; i < loops.length; i++) {
      if (loops[i].inEventLoop()) {
        return lanes[i];
      }
    }
    return lanes[Math.floorMod(next.getAndIncrement(), lanes.length)];
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(MethodDescriptor<ReqT, RespT> method, CallOptions options) {
    return lane().newCall(method, options);
  }

  @Override
  public String authority() {
    return lanes[0].authority();
  }

  @Override
  public ManagedChannel shutdown() {
    for (ManagedChannel lane : lanes) {
      lane.shutdown();
    }
    return this;
  }

  @Override
  public ManagedChannel shutdownNow() {
    for (ManagedChannel lane : lanes) {
      lane.shutdownNow();
    }
    return this;
  }

  @Override
  public boolean isShutdown() {
    for (ManagedChannel lane : lanes) {
      if (!lane.isShutdown()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean isTerminated() {
    for (ManagedChannel lane : lanes) {
      if (!lane.isTerminated()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    for (ManagedChannel lane : lanes) {
      if (!lane.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** The best state of any lane: READY if one is, and so on down to SHUTDOWN. */
  @Override
  public ConnectivityState getState(boolean requestConnection) {
    ConnectivityState best = ConnectivityState.SHUTDOWN;
    for (ManagedChannel lane : lanes) {
      ConnectivityState state = lane.getState(requestConnection);
      if (rank(state) < rank(best)) {
        best = state;
      }
    }
    return best;
  }

  private static int rank(ConnectivityState state) {
    return switch (state) {
      case READY -> 0;
      case CONNECTING -> 1;
      case IDLE -> 2;
      case TRANSIENT_FAILURE -> 3;
      case SHUTDOWN -> 4;
    };
  }

  @Override
  public void notifyWhenStateChanged(ConnectivityState source, Runnable callback) {
    lanes[0].notifyWhenStateChanged(source, callback);
  }

  @Override
  public void resetConnectBackoff() {
    for (ManagedChannel lane : lanes) {
      lane.resetConnectBackoff();
    }
  }

  @Override
  public void enterIdle() {
    for (ManagedChannel lane : lanes) {
      lane.enterIdle();
    }
  }
}
