package dev.llmproxy.server.cache;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Single-flight: at most one upstream call per key at a time, which every identical call joins.
 *
 * <p>What and why: LLM answers are slow and expensive, so when N clients ask the same cacheable
 * question at once, one upstream call should answer all N (a cache alone would send all N upstream,
 * since none has finished to fill it). The first caller for a key registers a {@link Flight} and
 * starts its upstream call; later callers join it and replay its chunks from the first, then follow
 * live, each at its own pace. Every client, the first included, is only a reader of the flight, so
 * the first one cancelling does not end the call for the others; the call is cancelled when its
 * last reader leaves, and a failure reaches every reader.
 *
 * <p>A flight leaves this registry when it ends (after its answer was stored, so a caller finds
 * either the entry or the flight), when it is cancelled, or when its answer grows too large to
 * store (new callers then start their own call). Joining is lock-free: a flight that can no longer
 * be joined is removed and the caller tries again.
 */
final class SingleFlight {
  private final ConcurrentHashMap<CacheKey, Flight> flights = new ConcurrentHashMap<>();

  /** The flight a caller reads and whether it started it (and so must start its upstream call). */
  record Membership(Flight flight, boolean leader) {}

  /** Joins the flight in progress for {@code key}, or registers a new one from {@code fresh} and joins that. */
  Membership join(CacheKey key, ChunkSource.Reader reader, Supplier<Flight> fresh) {
    Flight created = null;
    while (true) {
      Flight current = flights.get(key);
      if (current != null) {
        if (current.join(reader)) {
          return new Membership(current, false);
        }
        flights.remove(key, current);
        continue;
      }
      if (created == null) {
        created = fresh.get();
      }
      if (flights.putIfAbsent(key, created) == null) {
        if (created.join(reader)) {
          return new Membership(created, true);
        }
        // Someone joined and left the new flight before we could; it is cancelled. Start over.
        flights.remove(key, created);
        created = null;
      }
    }
  }

  /** Makes {@code flight} joinable for {@code key} unless another flight is in progress for it. */
  void offer(CacheKey key, Flight flight) {
    flights.putIfAbsent(key, flight);
  }

  /** Removes {@code flight} if it is the one registered for {@code key}. */
  void remove(CacheKey key, Flight flight) {
    flights.remove(key, flight);
  }

  int size() {
    return flights.size();
  }
}
