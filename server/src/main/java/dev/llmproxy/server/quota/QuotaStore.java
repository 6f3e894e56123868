package dev.llmproxy.server.quota;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where each caller's quota is counted: token buckets for requests and tokens per window, and a
 * count of calls in flight.
 *
 * <p>{@link #acquire} is all or nothing and exact under concurrency: no interleaving of callers,
 * threads or proxy replicas admits more than a limit allows. Every admitted permit must be
 * released exactly once, however its call ends. Neither method blocks the calling thread; a store
 * that cannot answer in time completes the stage according to its failure mode, so the stage
 * always completes, normally, within the store's bounded wait.
 */
public interface QuotaStore extends AutoCloseable {

  /**
   * Takes one request, {@code tokens} tokens and one concurrency slot from {@code subject}'s
   * account under {@code limits} if every limit allows it, else takes nothing.
   */
  CompletionStage<QuotaDecision> acquire(String subject, QuotaLimits limits, long tokens);

  /**
   * Ends an admitted call: frees its slot, charges {@code usedTokens} instead of the reservation
   * (returning the difference, or charging it, even below zero) and, with {@code refundRequest},
   * gives the request back.
   */
  void release(QuotaPermit permit, long usedTokens, boolean refundRequest);

  /**
   * Completes once the store has answered for the first time, so the proxy can report itself
   * ready only then (a store in another process needs a connection first). An in-process store
   * is ready at once. Never fails: a store that cannot be reached yet keeps trying.
   */
  default CompletionStage<Void> ready() {
    return CompletableFuture.completedFuture(null);
  }

  /** Releases the store's resources (connections, threads); in-flight permits are forgotten. */
  @Override
  void close();
}
