package dev.llmproxy.server.quota;

import dev.llmproxy.server.completion.AnswerEnd;
import dev.llmproxy.v1.Usage;
import io.grpc.Metadata;
import io.grpc.Status;

/**
 * What one admitted call used, as seen in its response, and how it is settled:
 *
 * <ul>
 *   <li>answered from the cache ({@code llmproxy-cache: hit} or {@code coalesced}): a request, no
 *       tokens, since no upstream generated anything for it;
 *   <li>the upstream reported {@code usage} (on the {@code Completion}, or the last chunk): exactly
 *       that, above or below the reservation;
 *   <li>ended OK without usage: the reservation stands;
 *   <li>ended with an error or cancelled after some chunks: the prompt estimate plus one token per
 *       chunk relayed;
 *   <li>ended with an error before any response message: no tokens; and unless the client ended it
 *       (CANCELLED, DEADLINE_EXCEEDED) the request is given back too, so an upstream outage does
 *       not eat the caller's quota.
 * </ul>
 *
 * <p>Observations come from the call's serialized send path; the settlement may run on the thread
 * that cancels the call, hence the volatile fields.
 */
final class CallUsage {
  static final Metadata.Key<String> CACHE_HEADER = Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);

  private final long reservedTokens;
  private final long promptTokens;
  private volatile boolean servedFromCache;
  private volatile int messages;
  private volatile long reportedTokens = -1;

  CallUsage(long reservedTokens, long promptTokens) {
    this.reservedTokens = reservedTokens;
    this.promptTokens = promptTokens;
  }

  void onHeaders(Metadata headers) {
    String cache = headers.get(CACHE_HEADER);
    if ("hit".equals(cache) || "coalesced".equals(cache)) {
      servedFromCache = true;
    }
  }

  void onMessage(Object message) {
    messages++;
    AnswerEnd end = AnswerEnd.of(message); // null for every chunk but the last
    if (end != null && end.usage() != null) {
      reportedTokens = total(end.usage());
    }
  }

  long usedTokens(Status.Code ending) {
    if (servedFromCache) {
      return 0;
    }
    if (reportedTokens >= 0) {
      return reportedTokens;
    }
    if (ending == Status.Code.OK) {
      return reservedTokens;
    }
    return messages == 0 ? 0 : promptTokens + messages;
  }

  boolean refundsRequest(Status.Code ending) {
    return messages == 0 && !servedFromCache && ending != Status.Code.OK && ending != Status.Code.CANCELLED
        && ending != Status.Code.DEADLINE_EXCEEDED;
  }

  private static long total(Usage usage) {
    return usage.getTotalTokens() > 0 ? usage.getTotalTokens()
        : (long) usage.getPromptTokens() + usage.getCompletionTokens();
  }
}
