package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;

/**
 * What a call's prompt begins with, hashed: calls with the same key share a KV-cache prefix on the
 * engine, so {@code prefix_affinity} sends them to the same upstream. Carried in the call's
 * {@link CallOptions} under {@link #CALL_OPTION}; a call without one is balanced on load alone.
 *
 * @param hash a {@link StableHash} of the tenant and the prompt's prefix, equal on every replica
 */
public record AffinityKey(long hash) {
  /** The call option under which a call carries its key. */
  public static final CallOptions.Key<AffinityKey> CALL_OPTION = CallOptions.Key.create("llmproxy-affinity-key");
}
