package dev.llmproxy.server.upstream;

import java.net.SocketAddress;
import java.util.List;

/** A failing-over call's pick filter: the route's avoided upstreams and those that failed this call. */
final class AttemptFilter implements PickFilter {
  private final PickFilter route;
  private final List<SocketAddress> failed;

  AttemptFilter(PickFilter route, List<SocketAddress> failed) {
    this.route = route;
    this.failed = failed;
  }

  @Override
  public boolean avoids(SocketAddress address) {
    return failed.contains(address) || route.avoids(address);
  }
}
