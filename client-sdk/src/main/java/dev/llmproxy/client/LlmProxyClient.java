package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ClientStreamTracer;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A client of llmproxy: one gRPC channel to the proxy, shared by every call and every thread. Build it
 * once with {@link #builder(String)}, and {@link #close()} it at shutdown.
 *
 * <pre>{@code
 * LlmProxyClient client = LlmProxyClient.builder("llmproxy.internal:50051")
 *     .trustCertificates(Path.of("/etc/llmproxy/ca.pem"))
 *     .apiKey(System.getenv("LLMPROXY_API_KEY"))
 *     .defaultDeadline(Duration.ofSeconds(60))
 *     .build();
 * Completion answer = client.complete("Summarise this ticket: ...");
 * }</pre>
 *
 * <p>Four ways to call, all on the same channel:
 * <ul>
 *   <li>{@link #complete(CompletionRequest)}: blocks for the whole answer;
 *       {@link #completeWithResponse(CompletionRequest)} adds the response metadata;
 *   <li>{@link #completeAsync(CompletionRequest)}: a {@link CompletableFuture}; cancelling it cancels
 *       the call;
 *   <li>{@link #stream(CompletionRequest)}: a {@link CompletionStream} of chunks as they are produced;
 *       closing it cancels the call;
 *   <li>{@link #streamAsync(CompletionRequest, Flow.Subscriber)}: chunks pushed to a
 *       {@link Flow.Subscriber} as fast as it requests them.
 * </ul>
 * Each has a one-prompt overload that asks the default model with the route's default
 * {@code max_tokens}. Failures are typed {@link LlmProxyException}s. Every call carries the API key,
 * the default deadline (unless {@link #withDeadline(Duration)} chose another), and is retried per the
 * {@link RetryPolicy} if it fails with {@code UNAVAILABLE} before any response.
 *
 * <p>Thread-safe. Callbacks (futures' dependents, subscribers) run on gRPC's executor threads.
 */
public final class LlmProxyClient implements AutoCloseable {
  private static final ClientStreamTracer.Factory PUSHBACK_SCOPE = new PushbackScopingTracerFactory();

  private final ManagedChannel channel;
  private final CallCredentials credentials;
  private final Duration deadline;

  private LlmProxyClient(ManagedChannel channel, CallCredentials credentials, Duration deadline) {
    this.channel = channel;
    this.credentials = credentials;
    this.deadline = deadline;
  }

  /**
   * Starts building a client of the proxy at {@code target}.
   *
   * @param target {@code host:port}, or a gRPC target URI such as {@code dns:///llmproxy.internal:50051}
   *     (every address the name resolves to is used, and re-resolved as it changes)
   * @return a builder; TLS with the system trust store unless told otherwise
   */
  public static Builder builder(String target) {
    return new Builder(target);
  }

  /**
   * Asks for a completion and waits for the whole of it.
   *
   * @param request the request; exactly one of {@code prompt} and {@code messages} set
   * @return the completion
   * @throws LlmProxyException (a typed subclass where one applies) if the call fails
   */
  public Completion complete(CompletionRequest request) {
    return completeWithResponse(request).value();
  }

  /**
   * Asks the default model to complete {@code prompt}, with the route's default {@code max_tokens}.
   *
   * @param prompt plain text
   * @return the completion
   * @throws LlmProxyException (a typed subclass where one applies) if the call fails
   */
  public Completion complete(String prompt) {
    return complete(promptRequest(prompt));
  }

  /**
   * Like {@link #complete(CompletionRequest)}, with the response metadata: cache status, upstream,
   * remaining quota.
   *
   * @param request the request
   * @return the completion and its metadata
   * @throws LlmProxyException (a typed subclass where one applies) if the call fails
   */
  public Response<Completion> completeWithResponse(CompletionRequest request) {
    requireNonNull(request, "request");
    // gRPC's blocking call runs the callbacks on this thread (no executor hop), cancels the call if this
    // thread is interrupted, and the exception is built here, with the caller's stack. The interceptor
    // keeps the metadata.
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel capturing = ClientInterceptors.intercept(channel,
        MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
    try {
      Completion completion = ClientCalls.blockingUnaryCall(capturing, LlmProxyGrpc.getCompleteMethod(),
          callOptions(), request);
      return new Response<>(completion, ResponseMetadata.of(headers.get(), trailers.get()));
    } catch (StatusRuntimeException e) {
      Metadata received = e.getTrailers() != null ? e.getTrailers() : trailers.get();
      throw StatusExceptionMapper.toException(e.getStatus(), headers.get(),
          received != null ? received : new Metadata(), request);
    }
  }

  /**
   * Asks for a completion without blocking. Cancelling the future cancels the call, and the proxy stops
   * the upstream generation.
   *
   * @param request the request
   * @return the completion with its metadata, or a future failed with a {@link LlmProxyException}
   */
  public CompletableFuture<Response<Completion>> completeAsync(CompletionRequest request) {
    return UnaryCall.start(channel, callOptions(), requireNonNull(request, "request"));
  }

  /**
   * Asks the default model to complete {@code prompt} without blocking.
   *
   * @param prompt plain text
   * @return the completion with its metadata, or a future failed with a {@link LlmProxyException}
   */
  public CompletableFuture<Response<Completion>> completeAsync(String prompt) {
    return completeAsync(promptRequest(prompt));
  }

  /**
   * Starts a streamed completion, to read chunk by chunk as tokens are produced. Close the stream (use
   * try-with-resources) to cancel the call early.
   *
   * @param request the request
   * @return the open stream; failures are thrown while reading it
   */
  public CompletionStream stream(CompletionRequest request) {
    return CompletionStream.start(channel, callOptions(), requireNonNull(request, "request"));
  }

  /**
   * Starts a streamed completion of {@code prompt} by the default model.
   *
   * @param prompt plain text
   * @return the open stream; failures are thrown while reading it
   */
  public CompletionStream stream(String prompt) {
    return stream(promptRequest(prompt));
  }

  /**
   * Starts a streamed completion whose chunks are pushed to {@code subscriber}, no faster than it
   * {@linkplain Flow.Subscription#request(long) requests} them: its demand is the call's flow control,
   * so a slow subscriber slows the upstream instead of filling memory. {@code onSubscribe} is called
   * before this method returns; cancelling the subscription cancels the call. Failures arrive as
   * {@code onError} with a {@link LlmProxyException}.
   *
   * @param request the request
   * @param subscriber receives the chunks
   * @return the response metadata once the response headers arrive (or, for a call that ends without
   *     any, what its trailers carried); it never fails
   */
  public CompletableFuture<ResponseMetadata> streamAsync(CompletionRequest request,
      Flow.Subscriber<? super CompletionChunk> subscriber) {
    return SubscriberCall.start(channel, callOptions(), requireNonNull(request, "request"),
        requireNonNull(subscriber, "subscriber"));
  }

  /**
   * A client for calls that need another deadline, sharing this client's channel and settings. Closing
   * either client closes the channel for both.
   *
   * @param deadline the time each call may take, from its start; {@code > 0}
   * @return a client whose calls have this deadline
   */
  public LlmProxyClient withDeadline(Duration deadline) {
    return new LlmProxyClient(channel, credentials, Builder.positive("deadline", deadline));
  }

  /**
   * The deadline each call of this client gets.
   *
   * @return the time a call may take from its start
   */
  public Duration deadline() {
    return deadline;
  }

  /**
   * Cancels the calls still in flight and closes the channel, waiting up to 5 seconds for its
   * connections to close. Idempotent.
   */
  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private CallOptions callOptions() {
    CallOptions options = CallOptions.DEFAULT
        .withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS)
        .withStreamTracerFactory(PUSHBACK_SCOPE);
    return credentials == null ? options : options.withCallCredentials(credentials);
  }

  private static CompletionRequest promptRequest(String prompt) {
    return CompletionRequest.newBuilder().setPrompt(requireNonNull(prompt, "prompt")).build();
  }

  /**
   * Settings of a {@link LlmProxyClient}. Every setter checks its argument at once and names it in the
   * error; {@link #build()} checks that the settings fit together.
   */
  public static final class Builder {
    /** The {@link #defaultDeadline(Duration)} unless set: long enough for 4096 tokens at 20 per second. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(5);
    /** The shortest keepalive interval gRPC allows. */
    public static final Duration MIN_KEEPALIVE_TIME = Duration.ofSeconds(10);

    private final String target;
    private boolean plaintext;
    private Path trustCertificates;
    private Path clientCertChain;
    private Path clientKey;
    private String authority;
    private String apiKey;
    private String apiKeyHeader = ApiKeyCallCredentials.DEFAULT_HEADER;
    private Duration defaultDeadline = DEFAULT_DEADLINE;
    private RetryPolicy retryPolicy = RetryPolicy.defaults();
    private Duration keepAliveTime;
    private Duration keepAliveTimeout;

    private Builder(String target) {
      requireNonNull(target, "target");
      if (target.isBlank() || target.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("target: '" + target
            + "' (expected: host:port or a gRPC target such as dns:///host:port)");
      }
      this.target = target;
    }

    /**
     * Connects without TLS, for a proxy on loopback or inside a trusted network. The API key is then
     * sent in clear text.
     *
     * @return this builder
     */
    public Builder usePlaintext() {
      plaintext = true;
      return this;
    }

    /**
     * Trusts the certificate authorities in {@code caPem} (PEM) instead of the system trust store to
     * verify the proxy's certificate.
     *
     * @param caPem a PEM file of one or more CA certificates
     * @return this builder
     */
    public Builder trustCertificates(Path caPem) {
      trustCertificates = requireNonNull(caPem, "caPem");
      return this;
    }

    /**
     * Presents a client certificate, for a proxy that requires mutual TLS.
     *
     * @param certChainPem the client's certificate chain, PEM
     * @param privateKeyPem its private key, PKCS#8 PEM
     * @return this builder
     */
    public Builder clientCertificate(Path certChainPem, Path privateKeyPem) {
      clientCertChain = requireNonNull(certChainPem, "certChainPem");
      clientKey = requireNonNull(privateKeyPem, "privateKeyPem");
      return this;
    }

    /**
     * The host name to expect in the proxy's certificate (and to send as {@code :authority}) when it
     * differs from the target's, e.g. when connecting by IP address.
     *
     * @param authority a host name, optionally with a port
     * @return this builder
     */
    public Builder overrideAuthority(String authority) {
      requireNonNull(authority, "authority");
      if (authority.isBlank()) {
        throw new IllegalArgumentException("authority: '' (expected: a host name)");
      }
      this.authority = authority;
      return this;
    }

    /**
     * The API key to send with every call (as gRPC call credentials), which the proxy counts quotas
     * against. Without one, calls are anonymous.
     *
     * @param apiKey the key; printable ASCII
     * @return this builder
     */
    public Builder apiKey(String apiKey) {
      requireNonNull(apiKey, "apiKey");
      if (apiKey.isEmpty() || !apiKey.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
        // The key itself stays out of the message.
        throw new IllegalArgumentException("apiKey: " + apiKey.length()
            + " characters (expected: a non-empty key of printable ASCII without spaces)");
      }
      this.apiKey = apiKey;
      return this;
    }

    /**
     * The request header that carries the API key, {@code x-api-key} unless set. In
     * {@code authorization} the key is sent as {@code Bearer <key>}.
     *
     * @param header a lower-case header name
     * @return this builder
     */
    public Builder apiKeyHeader(String header) {
      requireNonNull(header, "header");
      if (!header.matches("[a-z0-9][a-z0-9_.-]*") || header.endsWith("-bin") || header.startsWith("grpc-")) {
        throw new IllegalArgumentException("apiKeyHeader: '" + header
            + "' (expected: a lower-case ASCII header name, not grpc-* and not binary -bin)");
      }
      apiKeyHeader = header;
      return this;
    }

    /**
     * The time each call may take, from its start to its last chunk, unless
     * {@link LlmProxyClient#withDeadline(Duration)} gives another. {@link #DEFAULT_DEADLINE} unless
     * set. The proxy passes the deadline on to the upstream.
     *
     * @param deadline {@code > 0}
     * @return this builder
     */
    public Builder defaultDeadline(Duration deadline) {
      defaultDeadline = positive("defaultDeadline", deadline);
      return this;
    }

    /**
     * How calls that fail with {@code UNAVAILABLE} are retried; {@link RetryPolicy#defaults()} unless
     * set, {@link RetryPolicy#disabled()} for none.
     *
     * @param policy the policy
     * @return this builder
     */
    public Builder retryPolicy(RetryPolicy policy) {
      retryPolicy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sends HTTP/2 pings while calls are open and no data arrives for {@code time}, and closes the
     * connection (failing its calls with {@code UNAVAILABLE}) if a ping is not answered within
     * {@code timeout}: a long stream then notices a dead connection or a silently dropped NAT entry
     * instead of hanging until its deadline. Off unless set. The proxy must permit pings this often
     * (llmproxy permits one every 10 seconds).
     *
     * @param time idle time before a ping; at least {@link #MIN_KEEPALIVE_TIME}
     * @param timeout how long to wait for the answer; {@code > 0}
     * @return this builder
     */
    public Builder keepAlive(Duration time, Duration timeout) {
      positive("keepAliveTime", time);
      if (time.compareTo(MIN_KEEPALIVE_TIME) < 0) {
        throw new IllegalArgumentException("keepAliveTime: " + time + " (expected: >= " + MIN_KEEPALIVE_TIME
            + ", gRPC's minimum)");
      }
      keepAliveTime = time;
      keepAliveTimeout = positive("keepAliveTimeout", timeout);
      return this;
    }

    /**
     * Builds the client. Connecting is lazy: the first call connects, and a proxy that cannot be
     * reached fails calls with {@link UnavailableException}, not this method.
     *
     * @return the client
     * @throws IllegalStateException if the settings contradict each other (plaintext with certificates)
     * @throws java.io.UncheckedIOException if a certificate or key file cannot be read
     */
    public LlmProxyClient build() {
      if (plaintext && (trustCertificates != null || clientCertChain != null)) {
        throw new IllegalStateException("usePlaintext(): cannot be combined with "
            + (trustCertificates != null ? "trustCertificates()" : "clientCertificate()")
            + " (expected: TLS settings only without usePlaintext())");
      }
      ClientSettings settings = new ClientSettings(target, plaintext, trustCertificates, clientCertChain, clientKey,
          authority, apiKey, apiKeyHeader, defaultDeadline, retryPolicy, keepAliveTime, keepAliveTimeout);
      CallCredentials credentials = apiKey == null ? null : new ApiKeyCallCredentials(apiKeyHeader, apiKey);
      return new LlmProxyClient(NettyChannelFactory.create(settings), credentials, defaultDeadline);
    }

    static Duration positive(String name, Duration value) {
      requireNonNull(value, name);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }
  }
}
