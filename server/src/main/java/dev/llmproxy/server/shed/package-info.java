/**
 * Load shedding: a per-route cap on calls in flight to the upstreams, with an optional bounded
 * wait queue, so that load past what the pool can take fails fast with UNAVAILABLE instead of
 * piling onto upstreams. {@link dev.llmproxy.server.shed.LoadSheddingServerInterceptor} is the last
 * stage before the forwarding service, so calls answered from the cache are never shed.
 */
package dev.llmproxy.server.shed;
