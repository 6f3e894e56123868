package dev.llmproxy.server.cache;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** A test client of the proxy that also returns the response headers of each call. */
final class CacheClient {
  static final Metadata.Key<String> CACHE = Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> CACHE_CONTROL =
      Metadata.Key.of("llmproxy-cache-control", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

  private final Channel channel;

  CacheClient(Channel channel) {
    this.channel = channel;
  }

  /** An answer and the response headers it came with. */
  record Answer<T>(T value, Metadata headers) {
    String cache() {
      return headers.get(CACHE);
    }

    String upstream() {
      return headers.get(UPSTREAM);
    }
  }

  Answer<Completion> complete(CompletionRequest request, Metadata extra) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Completion c = stub(extra, headers).complete(request);
    return new Answer<>(c, headers.get());
  }

  Answer<Completion> complete(CompletionRequest request) {
    return complete(request, new Metadata());
  }

  Answer<List<CompletionChunk>> stream(CompletionRequest request, Metadata extra) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    List<CompletionChunk> chunks = new ArrayList<>();
    stub(extra, headers).streamComplete(request).forEachRemaining(chunks::add);
    return new Answer<>(List.copyOf(chunks), headers.get());
  }

  Answer<List<CompletionChunk>> stream(CompletionRequest request) {
    return stream(request, new Metadata());
  }

  static Metadata header(Metadata.Key<String> key, String value) {
    Metadata m = new Metadata();
    m.put(key, value);
    return m;
  }

  static String text(List<CompletionChunk> chunks) {
    StringBuilder sb = new StringBuilder();
    chunks.forEach(c -> sb.append(c.getText()));
    return sb.toString();
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub(Metadata extra, AtomicReference<Metadata> headers) {
    return LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra),
            MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(20, TimeUnit.SECONDS);
  }
}
