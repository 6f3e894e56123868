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
 *   <li>{@link dev.llmproxy.server.upstream.AvoidanceLoadBalancerProvider}:
 *       {@code llmproxy_avoidance}, the one avoidance mechanism, wrapped around every route's
 *       policy. Its picker hands each pick a stream tracer ({@link
 *       dev.llmproxy.server.upstream.OutcomeTracer}) that judges how the call ended ({@link
 *       dev.llmproxy.server.upstream.UpstreamOutcome}, {@link
 *       dev.llmproxy.server.upstream.UpstreamFault}) and records it in the route's {@link
 *       dev.llmproxy.server.upstream.OutlierDetector} (consecutive faults with exponential
 *       back-off, {@link dev.llmproxy.server.upstream.EjectionState}; busy for the upstream's
 *       pushback). Picks avoid ejected and busy upstreams and those the call already failed on
 *       ({@link dev.llmproxy.server.upstream.UpstreamAttempt}, from the caller): policies that read
 *       {@link dev.llmproxy.server.upstream.PickFilter} choose among the rest, round_robin is asked
 *       again, and round_robin and pick_first are not shown ejected addresses at all. The route
 *       reads the state through {@link dev.llmproxy.server.upstream.RouteOutliers} (metrics,
 *       admin); nothing outside this package writes upstream health.
 *   <li>{@link dev.llmproxy.server.upstream.UpstreamServiceConfig}: the policy and health-check
 *       settings as the service config a channel takes, the policy wrapped in
 *       {@code llmproxy_avoidance} with the route's outlier settings. Defaults: least_outstanding,
 *       health checking of {@code llmproxy.v1.LlmProxy} on.
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
