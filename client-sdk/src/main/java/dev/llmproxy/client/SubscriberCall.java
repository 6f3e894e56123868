package dev.llmproxy.client;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * One {@code StreamComplete} call delivered to a {@link Flow.Subscriber}, with the subscriber's demand
 * as the call's flow control: {@code request(n)} becomes gRPC's {@code ClientCall.request}, so no chunk
 * is read off the connection for a subscriber that has not asked for it, and HTTP/2 flow control holds
 * the proxy (and through it the upstream) back.
 *
 * <p>Signals follow the Reactive Streams rules: {@code onSubscribe} first, on the caller's thread and
 * before the call starts; then {@code onNext} at most as often as requested, and one of
 * {@code onComplete}/{@code onError}, all from gRPC's serialized callbacks. {@code cancel()} cancels the
 * call and stops the signals; {@code request(n <= 0)} cancels it and signals an
 * {@link IllegalArgumentException} (rule 3.9). If the subscriber throws, the call is cancelled and
 * no further signal is sent.
 */
final class SubscriberCall extends ClientCall.Listener<CompletionChunk> implements Flow.Subscription {
  private final ClientCall<CompletionRequest, CompletionChunk> call;
  private final CompletionRequest request;
  private final Flow.Subscriber<? super CompletionChunk> subscriber;
  private final CompletableFuture<ResponseMetadata> metadata = new CompletableFuture<>();

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean started;
  private boolean cancelled;
  private IllegalArgumentException badDemand;
  private long demand; // asked for by the subscriber and not yet delivered; Long.MAX_VALUE = unbounded
  private int granted; // asked of gRPC and not yet delivered
  // Listener state, touched only by gRPC's serialized callbacks.
  private Metadata headers;

  private SubscriberCall(ClientCall<CompletionRequest, CompletionChunk> call, CompletionRequest request,
      Flow.Subscriber<? super CompletionChunk> subscriber) {
    this.call = call;
    this.request = request;
    this.subscriber = subscriber;
  }

  static CompletableFuture<ResponseMetadata> start(Channel channel, CallOptions options,
      CompletionRequest request, Flow.Subscriber<? super CompletionChunk> subscriber) {
    SubscriberCall s = new SubscriberCall(
        channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(), options), request, subscriber);
    s.begin();
    return s.metadata;
  }

  private void begin() {
    try {
      subscriber.onSubscribe(this);
    } catch (RuntimeException | Error e) {
      cancelBeforeStart(e);
      throw e;
    }
    IllegalArgumentException rejected;
    boolean running;
    synchronized (lock) {
      rejected = badDemand;
      running = !cancelled;
      if (running) {
        try {
          call.start(this, new Metadata());
          call.sendMessage(request);
          call.halfClose();
        } catch (RuntimeException | Error e) {
          cancelled = true;
          call.cancel("could not start the call", e);
          throw e;
        }
        started = true;
      }
    }
    if (!running) {
      call.cancel("cancelled before it started", rejected);
      metadata.complete(ResponseMetadata.empty());
      if (rejected != null) {
        subscriber.onError(rejected);
      }
      return;
    }
    grant();
  }

  private void cancelBeforeStart(Throwable cause) {
    synchronized (lock) {
      cancelled = true;
    }
    call.cancel("the subscriber failed in onSubscribe", cause);
    metadata.complete(ResponseMetadata.empty());
  }

  @Override
  public void request(long n) {
    IllegalArgumentException rejected = null;
    synchronized (lock) {
      if (cancelled) {
        return;
      }
      if (n <= 0) {
        rejected = new IllegalArgumentException("request: " + n + " (expected: > 0, Reactive Streams rule 3.9)");
        badDemand = rejected;
        cancelled = true;
      } else {
        demand = demand > Long.MAX_VALUE - n ? Long.MAX_VALUE : demand + n;
      }
      if (!started) {
        return; // begin() acts on it once onSubscribe has returned
      }
    }
    if (rejected != null) {
      call.cancel("the subscriber requested " + n + " chunks", rejected);
    } else {
      grant();
    }
  }

  /** Passes demand on to gRPC, keeping what gRPC was granted and not yet delivered within an int. */
  private void grant() {
    int more;
    synchronized (lock) {
      if (cancelled) {
        return;
      }
      long wanted = Math.min(demand - granted, (long) Integer.MAX_VALUE - granted);
      more = (int) Math.max(0, wanted);
      granted += more;
    }
    if (more > 0) {
      call.request(more);
    }
  }

  @Override
  public void cancel() {
    synchronized (lock) {
      if (cancelled) {
        return;
      }
      cancelled = true;
      if (!started) {
        return; // begin() will not start it
      }
    }
    call.cancel("the subscriber cancelled", null);
  }

  @Override
  public void onHeaders(Metadata headers) {
    this.headers = headers;
    metadata.complete(ResponseMetadata.of(headers));
  }

  @Override
  public void onMessage(CompletionChunk chunk) {
    synchronized (lock) {
      granted--;
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      if (cancelled) {
        return;
      }
    }
    try {
      subscriber.onNext(chunk);
    } catch (RuntimeException | Error e) {
      synchronized (lock) {
        cancelled = true;
      }
      call.cancel("the subscriber threw from onNext", e);
      return;
    }
    grant();
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    metadata.complete(ResponseMetadata.of(headers, trailers));
    IllegalArgumentException rejected;
    boolean silent;
    synchronized (lock) {
      rejected = badDemand;
      silent = cancelled;
      cancelled = true;
    }
    if (rejected != null) {
      subscriber.onError(rejected);
    } else if (silent) {
      return;
    } else if (status.isOk()) {
      subscriber.onComplete();
    } else {
      subscriber.onError(StatusExceptionMapper.toException(status, headers, trailers, request));
    }
  }
}
