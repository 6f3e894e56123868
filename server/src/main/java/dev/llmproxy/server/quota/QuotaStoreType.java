package dev.llmproxy.server.quota;

/** Where quota state is kept. */
public enum QuotaStoreType {
  /** In this process: each replica counts on its own. */
  MEMORY,
  /** In a Redis server that several replicas share. */
  REDIS
}
