/**
 * Upstream channels: how the proxy finds its LLM backends, spreads calls over them and stops
 * sending to the ones that are down.
 *
 * <ul>
 *   <li>{@link dev.llmproxy.server.upstream.StaticNameResolverProvider}: the {@code static:///}
 *       scheme, a fixed list of backends, one address group each. {@code dns:///name:port} (gRPC's
 *       own resolver) remains available for fleets behind a DNS name.
 *   <li>{@link dev.llmproxy.server.upstream.LeastOutstandingLoadBalancerProvider}: the
 *       {@code least_outstanding} policy, power of two choices over calls in flight. Our own, so
 *       the server does not need grpc-xds (which doubles the classpath) for least_request.
 *   <li>{@link dev.llmproxy.server.upstream.PeakEwmaLoadBalancerProvider}: {@code peak_ewma},
 *       power of two choices on a peak-sensitive average of TTFT and inter-token latency times
 *       calls in flight.
 *   <li>{@link dev.llmproxy.server.upstream.PrefixAffinityLoadBalancerProvider}:
 *       {@code prefix_affinity}, consistent hashing of the prompt's prefix ({@link
 *       dev.llmproxy.server.upstream.AffinityKey}, made by {@link
 *       dev.llmproxy.server.upstream.PromptPrefixHasher}) with bounded loads.
 *   <li>{@link dev.llmproxy.server.upstream.LeastLoadedLoadBalancerProvider}: {@code least_loaded},
 *       power of two choices on the queue depth and utilization engines report in ORCA per-call
 *       reports, calls in flight where they report nothing.
 *   <li>{@link dev.llmproxy.server.upstream.UpstreamServiceConfig}: the policy and health-check
 *       settings as the service config a channel takes. Defaults: least_outstanding, health
 *       checking of {@code llmproxy.v1.LlmProxy} on.
 * </ul>
 *
 * <p>Client-side health checking ({@code grpc.health.v1.Health/Watch}) comes from grpc-services
 * for both round_robin and least_outstanding; backends must serve the health service and report
 * {@code llmproxy.v1.LlmProxy}. A backend reporting NOT_SERVING, or whose connection drops, leaves
 * the rotation as soon as the channel hears of it (milliseconds on a LAN) and returns when it
 * reports SERVING again; a restarted backend returns on the channel's next reconnect attempt.
 *
 * <p>The providers register through {@code META-INF/services}, so any channel built from gRPC's
 * default registries knows the scheme and the policy; nothing here holds static state.
 */
package dev.llmproxy.server.upstream;
