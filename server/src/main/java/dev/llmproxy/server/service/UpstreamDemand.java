package dev.llmproxy.server.service;

import io.grpc.ClientCall;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Flow control of one upstream call: how many messages the relay has asked of the upstream and not
 * yet received. While the client's side of the stream is ready the relay tops this up to
 * {@code maxAhead}, asking for several messages at once (one {@code request(n)} per several chunks
 * rather than one per chunk); while it is not, nothing more is asked, so a client that reads
 * slowly holds the upstream back through HTTP/2 flow control, and the proxy holds at most
 * {@code maxAhead} messages beyond what the client's side takes.
 *
 * <p>Topping up may race between the upstream's thread (after relaying a message) and the client's
 * (on ready): a compare-and-set claims the gap, so the count never exceeds {@code maxAhead}. The
 * {@link StallWatchdog} is told when messages are outstanding, so its clock runs only then.
 */
final class UpstreamDemand {
  private final ClientCall<?, ?> call;
  private final StallWatchdog watchdog;
  private final int maxAhead;
  private final int lowWater;
  private final AtomicInteger outstanding = new AtomicInteger();

  UpstreamDemand(ClientCall<?, ?> call, StallWatchdog watchdog, int maxAhead) {
    if (maxAhead < 1) {
      throw new IllegalArgumentException("maxAhead: " + maxAhead + " (expected: > 0)");
    }
    this.call = call;
    this.watchdog = watchdog;
    this.maxAhead = maxAhead;
    this.lowWater = maxAhead / 2;
  }

  /** Asks for messages up to {@code maxAhead} outstanding; from any thread. */
  void topUp() {
    for (;;) {
      int current = outstanding.get();
      if (current >= maxAhead) {
        return;
      }
      if (outstanding.compareAndSet(current, maxAhead)) {
        watchdog.awaiting();
        call.request(maxAhead - current);
        return;
      }
    }
  }

  /** A message came; on the upstream's thread. Returns whether the relay should top up (if the client is ready). */
  boolean received() {
    int left = outstanding.decrementAndGet();
    watchdog.received(left > 0);
    if (left == 0 && outstanding.get() > 0) {
      watchdog.awaiting(); // topped up from the client's side meanwhile
    }
    return left <= lowWater;
  }

  /** Messages asked for and not yet received. */
  int outstanding() {
    return outstanding.get();
  }
}
