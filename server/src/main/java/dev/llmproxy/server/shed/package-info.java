/**
 * Load shedding: a per-route cap on calls in flight to the upstreams, with an optional bounded
 * wait queue, so that load past what the pool can take fails fast with UNAVAILABLE instead of
 * piling onto upstreams. The forwarding service asks for a slot just before it opens the first
 * upstream call, after every interceptor, so calls answered from the cache are never shed.
 */
package dev.llmproxy.server.shed;
