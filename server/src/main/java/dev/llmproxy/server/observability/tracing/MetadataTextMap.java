package dev.llmproxy.server.observability.tracing;

import io.grpc.Metadata;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.List;

/**
 * gRPC headers as a carrier of the W3C trace context. The setter replaces a header instead of
 * adding a second value, so a forwarded client {@code traceparent} gives way to the proxy's own.
 */
enum MetadataTextMap implements TextMapGetter<Metadata>, TextMapSetter<Metadata> {
  INSTANCE;

  @Override
  public Iterable<String> keys(Metadata carrier) {
    return carrier.keys();
  }

  @Override
  public String get(Metadata carrier, String key) {
    if (carrier == null || key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
      return null;
    }
    return carrier.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
  }

  @Override
  public void set(Metadata carrier, String key, String value) {
    if (carrier == null) {
      return;
    }
    Metadata.Key<String> k = Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER);
    carrier.removeAll(k);
    carrier.put(k, value);
  }

  /** Removes the trace-context headers, before the proxy puts its own. */
  static void clear(Metadata carrier, List<String> fields) {
    for (String field : fields) {
      carrier.removeAll(Metadata.Key.of(field, Metadata.ASCII_STRING_MARSHALLER));
    }
  }
}
