package dev.llmproxy.server.config;

/** Whose entries a cached answer is visible to. */
public enum CacheNamespace {
  /** One cache for every caller: any caller may be answered with an entry another caller filled. */
  SHARED,
  /** One namespace per API key id (anonymous callers share one): a tenant never sees another's entries. */
  PER_KEY
}
