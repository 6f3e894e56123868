package dev.llmproxy.server.upstream;

import java.util.Arrays;
import java.util.List;

/*
 * A consistent-hash ring over endpoints. Each endpoint owns POINTS_PER_ENDPOINT points, placed at
 * StableHash(identity + "#" + i), so the ring depends only on the set of endpoint identities: two
 * proxies with the same upstream list build the same ring, and an endpoint that joins or leaves
 * moves only the keys that land on its own points (about 1/n of them). 100 points per endpoint keep
 * each endpoint's share within a few percent of 1/n for small pools.
 */
/** An immutable consistent-hash ring; {@link #first} and {@link #next} walk it from a key. */
final class EndpointRing {
  static final int POINTS_PER_ENDPOINT = 100;

  private final long[] points; // sorted
  private final int[] owners; // endpoint index of each point

  private EndpointRing(long[] points, int[] owners) {
    this.points = points;
    this.owners = owners;
  }

  /** The ring of {@code identities} (endpoint i owns the points of identities.get(i)). */
  static EndpointRing of(List<String> identities) {
    int n = identities.size() * POINTS_PER_ENDPOINT;
    long[][] pairs = new long[n][];
    int k = 0;
    for (int e = 0; e < identities.size(); e++) {
      for (int i = 0; i < POINTS_PER_ENDPOINT; i++) {
        pairs[k++] = new long[] {StableHash.of(identities.get(e) + "#" + i), e};
      }
    }
    // Ties (astronomically rare) are broken by identity, not by list order, to stay replica-independent.
    Arrays.sort(pairs, (a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0])
        : identities.get((int) a[1]).compareTo(identities.get((int) b[1])));
    long[] points = new long[n];
    int[] owners = new int[n];
    for (int i = 0; i < n; i++) {
      points[i] = pairs[i][0];
      owners[i] = (int) pairs[i][1];
    }
    return new EndpointRing(points, owners);
  }

  /** Points on the ring. */
  int size() {
    return points.length;
  }

  /** The position of the first point at or after {@code hash}, wrapping around. */
  int first(long hash) {
    int i = Arrays.binarySearch(points, hash);
    if (i < 0) {
      i = -i - 1;
    }
    return i == points.length ? 0 : i;
  }

  /** The position after {@code position}, wrapping around. */
  int next(int position) {
    return position + 1 == points.length ? 0 : position + 1;
  }

  /** The endpoint that owns the point at {@code position}. */
  int owner(int position) {
    return owners[position];
  }
}
