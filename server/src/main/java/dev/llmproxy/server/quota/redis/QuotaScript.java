package dev.llmproxy.server.quota.redis;

import dev.llmproxy.server.quota.QuotaLimits;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The Lua script {@code quota.lua} that changes one subject's quota state atomically inside Redis,
 * run by its SHA-1 and sent in full only when Redis does not know it (first use, or after a
 * restart emptied the script cache).
 */
final class QuotaScript {
  private final String source;
  private final String sha1;

  QuotaScript() {
    try (InputStream in = QuotaScript.class.getResourceAsStream("quota.lua")) {
      if (in == null) {
        throw new IllegalStateException("quota.lua is missing from the classpath");
      }
      source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      sha1 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
          .digest(source.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every Java platform", e);
    }
  }

  /** Sends the script ahead of the first call, so that call needs one round trip, not two. */
  CompletableFuture<String> load(RedisAsyncCommands<String, String> redis) {
    return redis.scriptLoad(source).toCompletableFuture();
  }

  /** Reply: {admitted, requests left, tokens left, request wait ms, token wait ms, concurrency full}. */
  CompletableFuture<List<Object>> acquire(RedisAsyncCommands<String, String> redis, String[] keys, long now,
      QuotaLimits limits, long tokens, String slot, long leaseMillis) {
    return run(redis, keys, "acquire", now, limits, tokens, slot, Long.toString(leaseMillis));
  }

  CompletableFuture<List<Object>> release(RedisAsyncCommands<String, String> redis, String[] keys, long now,
      QuotaLimits limits, long tokensBack, String slot, boolean refundRequest) {
    return run(redis, keys, "release", now, limits, tokensBack, slot, refundRequest ? "1" : "0");
  }

  private CompletableFuture<List<Object>> run(RedisAsyncCommands<String, String> redis, String[] keys, String op,
      long now, QuotaLimits limits, long amount, String slot, String last) {
    String[] args = {op, Long.toString(now), Long.toString(limits.window().toMillis()),
        Long.toString(limits.requests()), Long.toString(limits.tokens()), Integer.toString(limits.maxConcurrent()),
        Long.toString(amount), slot == null ? "" : slot, last};
    CompletableFuture<List<Object>> bySha = redis.<List<Object>>evalsha(sha1, ScriptOutputType.MULTI, keys, args)
        .toCompletableFuture();
    return bySha.exceptionallyCompose(error -> isNoScript(error)
        ? redis.<List<Object>>eval(source, ScriptOutputType.MULTI, keys, args).toCompletableFuture()
        : CompletableFuture.failedFuture(error));
  }

  private static boolean isNoScript(Throwable error) {
    Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    return e instanceof RedisNoScriptException
        || (e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT"));
  }
}
