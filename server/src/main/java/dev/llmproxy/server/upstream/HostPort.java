package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

/**
 * One backend of a static target, as written: a host name or IP literal and a port. IPv6 hosts are
 * kept without their brackets; {@link #toString()} puts them back.
 */
record HostPort(String host, int port) {

  HostPort {
    requireNonNull(host, "host");
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
