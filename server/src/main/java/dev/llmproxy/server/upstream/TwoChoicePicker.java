package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import io.grpc.LoadBalancer.SubchannelPicker;
import java.net.SocketAddress;
import java.util.List;
import java.util.random.RandomGenerator;

/*
 * Power of two choices with avoidance, for pickers whose endpoints compare by a cost: two distinct
 * endpoints are sampled and the cheaper wins. Avoided samples (PickFilter) are passed over; if both
 * are avoided, the cheapest endpoint not avoided; if every endpoint is avoided, the filter is
 * ignored (trying beats failing).
 */
/** The sampling and avoidance shared by cost-comparing pickers; subclasses say which is cheaper. */
abstract class TwoChoicePicker extends SubchannelPicker {
  private final List<List<SocketAddress>> addresses;
  private final RandomGenerator random;

  TwoChoicePicker(List<List<SocketAddress>> addresses, RandomGenerator random) {
    this.addresses = List.copyOf(addresses);
    this.random = requireNonNull(random, "random");
  }

  /** The cheaper of endpoints {@code a} and {@code b}; ties should go to {@code a}, which is random. */
  abstract int cheaper(int a, int b);

  final RandomGenerator random() {
    return random;
  }

  /** The index of the endpoint to pick, honouring {@code filter} (null: avoid nothing). */
  final int choose(PickFilter filter) {
    int n = addresses.size();
    if (n == 1) {
      return 0;
    }
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    boolean avoidA = avoided(filter, a);
    boolean avoidB = avoided(filter, b);
    if (!avoidA && !avoidB) {
      return cheaper(a, b);
    }
    if (!avoidA || !avoidB) {
      return avoidA ? b : a;
    }
    int best = -1;
    for (int i = 0; i < n; i++) {
      if (!avoided(filter, i) && (best < 0 || cheaper(i, best) == i)) {
        best = i;
      }
    }
    return best >= 0 ? best : choose(null);
  }

  private boolean avoided(PickFilter filter, int index) {
    if (filter == null) {
      return false;
    }
    for (SocketAddress address : addresses.get(index)) {
      if (filter.avoids(address)) {
        return true;
      }
    }
    return false;
  }
}
