package dev.llmproxy.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.reload.ProxyRuntime;
import dev.llmproxy.server.upstream.Route;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetSocketAddress;

/**
 * The routes of the running config and the state of their upstreams, from what the proxy already
 * measures: health ({@code llmproxy.upstream.healthy}, watched for statically listed gRPC
 * upstreams), calls in flight ({@code llmproxy.upstream.inflight}) and the route's outlier
 * ejections. A value the proxy does not know (a {@code dns:///} target's members, health of an
 * upstream not watched) is {@code null}, not a guess.
 */
final class RouteStates {
  private static final java.util.regex.Pattern IP_LITERAL =
      java.util.regex.Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*");
  private final MeterRegistry meters;

  RouteStates(MeterRegistry meters) {
    this.meters = meters;
  }

  ObjectNode describe(ObjectMapper json, ProxyRuntime runtime) {
    ObjectNode body = json.createObjectNode();
    body.put("hash", runtime.hash());
    body.put("calls_in_flight", runtime.callsInFlight());
    ArrayNode routes = body.putArray("routes");
    for (Route route : runtime.routes().routes()) {
      RouteConfig config = route.config();
      ObjectNode r = routes.addObject();
      r.put("name", route.name());
      r.set("models", json.valueToTree(config.models()));
      r.put("default", config.isDefault());
      r.put("protocol", config.protocol().name().toLowerCase(java.util.Locale.ROOT));
      r.put("lb", config.lb().policyName());
      if (config.target() != null) {
        r.put("target", config.target());
      }
      r.put("ejected", route.outliers().ejectedCount());
      r.put("channel", route.channel().getState(false).name());
      ArrayNode upstreams = r.putArray("upstreams");
      for (UpstreamEndpoint upstream : config.upstreams()) {
        ObjectNode u = upstreams.addObject();
        u.put("name", upstream.name());
        u.put("address", upstream.address());
        putGauge(u, "healthy", gauge("llmproxy.upstream.healthy", route.name(), upstream.name()), true);
        putGauge(u, "in_flight", gauge("llmproxy.upstream.inflight", route.name(), upstream.name()), false);
        InetSocketAddress socket = socket(upstream.address());
        if (socket != null) {
          u.put("ejected", route.outliers().isEjected(socket));
        } else {
          u.putNull("ejected");
        }
      }
    }
    return body;
  }

  private Gauge gauge(String name, String route, String upstream) {
    return meters.find(name).tag("route", route).tag("upstream", upstream).gauge();
  }

  private static void putGauge(ObjectNode node, String field, Gauge gauge, boolean asBoolean) {
    if (gauge == null || Double.isNaN(gauge.value())) {
      node.putNull(field);
    } else if (asBoolean) {
      node.put(field, gauge.value() >= 1);
    } else {
      node.put(field, (long) gauge.value());
    }
  }

  /** An IP literal's socket address, as the channel knows it; null for a host name or URL. */
  private static InetSocketAddress socket(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || address.contains("/")) {
      return null;
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (!IP_LITERAL.matcher(host).matches()) {
      return null; // a host name: looking it up here would block on DNS
    }
    try {
      return new InetSocketAddress(java.net.InetAddress.getByName(host), Integer.parseInt(address.substring(colon + 1)));
    } catch (java.io.IOException | NumberFormatException e) {
      return null;
    }
  }
}
