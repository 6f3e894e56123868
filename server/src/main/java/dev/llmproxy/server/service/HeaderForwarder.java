package dev.llmproxy.server.service;

import io.grpc.Metadata;
import java.util.List;

/**
 * Copies an allowlist of request headers onto the upstream call. Everything else stays at the
 * proxy: API keys, cache control, and whatever a client sends by mistake.
 */
public final class HeaderForwarder {
  private final List<Metadata.Key<String>> keys;

  public HeaderForwarder(List<String> headerNames) {
    this.keys = headerNames.stream()
        .map(name -> Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER))
        .toList();
  }

  public Metadata upstreamHeaders(Metadata clientHeaders) {
    Metadata out = new Metadata();
    for (Metadata.Key<String> key : keys) {
      Iterable<String> values = clientHeaders.getAll(key);
      if (values != null) {
        for (String value : values) {
          out.put(key, value);
        }
      }
    }
    return out;
  }
}
