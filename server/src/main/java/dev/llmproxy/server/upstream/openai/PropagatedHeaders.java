package dev.llmproxy.server.upstream.openai;

import io.grpc.Metadata;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * The request headers an OpenAI-compatible engine gets from the gRPC call the proxy made: the W3C
 * trace context ({@code traceparent}, {@code tracestate}) and {@code x-request-id}, so a trace and
 * a request id continue over HTTP. Only these: the gRPC call's other headers are the proxy's own
 * (its user agent, its deadlines), and the credential is the route's {@code api_key}.
 */
record PropagatedHeaders(List<String> namesAndValues) {
  static final PropagatedHeaders NONE = new PropagatedHeaders(List.of());
  private static final List<String> NAMES = List.of("traceparent", "tracestate", "x-request-id");

  static PropagatedHeaders from(Metadata headers) {
    List<String> out = null;
    for (String name : NAMES) {
      String value = headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      if (value != null && !value.isEmpty()) {
        if (out == null) {
          out = new ArrayList<>(2 * NAMES.size());
        }
        out.add(name);
        out.add(value);
      }
    }
    return out == null ? NONE : new PropagatedHeaders(List.copyOf(out));
  }

  void addTo(HttpRequest.Builder request) {
    for (int i = 0; i < namesAndValues.size(); i += 2) {
      request.header(namesAndValues.get(i), namesAndValues.get(i + 1));
    }
  }
}
