/**
 * ORCA (Open Request Cost Aggregation) load reports, shared by the simulated backend, which sends
 * them, and the proxy, which balances on them: the report itself, its protobuf wire form (the
 * {@code endpoint-load-metrics-bin} trailer of gRPC's per-call reports), its HTTP header form
 * ({@code endpoint-load-metrics: TEXT ...} / {@code JSON ...}, as vLLM sends it) and the
 * out-of-band service ({@code OpenRcaService/StreamCoreMetrics}), client method and server.
 */
package dev.llmproxy.orca;
