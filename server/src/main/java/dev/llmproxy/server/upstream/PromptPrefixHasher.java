package dev.llmproxy.server.upstream;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import javax.annotation.Nullable;

/**
 * Turns a request into the {@link AffinityKey} that {@code prefix_affinity} hashes onto its ring:
 * the model, the tenant (when tenant-aware) and the first {@code prefixChars} characters of the
 * prompt, or of the messages in order (the system prompt first, then the first turns), each message
 * with its role. Engines cache KV blocks of a prompt's beginning, so calls that agree on it share
 * cached work; the cut-off keeps the varying end of a conversation out of the hash.
 */
public final class PromptPrefixHasher {
  private final int prefixChars;
  private final boolean tenantAware;

  public PromptPrefixHasher(int prefixChars, boolean tenantAware) {
    if (prefixChars < 1) {
      throw new IllegalArgumentException("prefixChars: " + prefixChars + " (expected: >= 1)");
    }
    this.prefixChars = prefixChars;
    this.tenantAware = tenantAware;
  }

  /** The key of {@code request} sent by {@code tenant} (an API key id; null: anonymous). */
  public AffinityKey keyOf(CompletionRequest request, @Nullable String tenant) {
    long h = StableHash.update(StableHash.start(), request.getModel(), 0, request.getModel().length());
    h = StableHash.separator(h);
    if (tenantAware && tenant != null) {
      h = StableHash.separator(StableHash.update(h, tenant, 0, tenant.length()));
    }
    int left = prefixChars;
    if (!request.getPrompt().isEmpty()) {
      String prompt = request.getPrompt();
      h = StableHash.update(h, prompt, 0, Math.min(prompt.length(), left));
    } else {
      for (Message message : request.getMessagesList()) {
        if (left <= 0) {
          break;
        }
        h = StableHash.separator(StableHash.update(h, message.getRole(), 0, message.getRole().length()));
        String content = message.getContent();
        int take = Math.min(content.length(), left);
        h = StableHash.separator(StableHash.update(h, content, 0, take));
        left -= take;
      }
    }
    return new AffinityKey(StableHash.finish(h));
  }
}
