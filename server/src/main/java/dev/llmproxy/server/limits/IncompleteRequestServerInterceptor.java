package dev.llmproxy.server.limits;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closes the calls that {@link IncompleteRequestBudget} refuses: at the headers while the budget
 * (or the connection's share of it) is spent, or later, from another thread, when a call's unfinished message takes it past the
 * budget. The later refusal races with the message completing on the transport thread; one
 * compare-and-set decides: either the message is delivered and the call goes on, or the call is
 * closed and the rest of the chain only hears that it ended.
 */
public final class IncompleteRequestServerInterceptor implements ServerInterceptor {
  private static final int OPEN = 0;
  private static final int DELIVERED = 1;
  private static final int REFUSED = 2;

  private final IncompleteRequestBudget budget;

  IncompleteRequestServerInterceptor(IncompleteRequestBudget budget) {
    this.budget = budget;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    IncompleteRequestBudget.StreamAccount account = IncompleteRequestBudget.ACCOUNT.get();
    if (account == null) {
      return next.startCall(call, headers); // a server without the tracer (in-process tests)
    }
    if (budget.spent(call.getAttributes())) {
      budget.refusedAtHeaders();
      call.close(budget.refusal(), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicInteger state = new AtomicInteger(OPEN);
    OnceClosingCall<ReqT, RespT> guarded = new OnceClosingCall<>(call);
    ServerCall.Listener<ReqT> delegate = next.startCall(guarded, headers);
    account.onRefusal(() -> {
      if (state.compareAndSet(OPEN, REFUSED)) {
        guarded.close(budget.refusal(), new Metadata());
      }
    });
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(ReqT message) {
        if (state.get() == DELIVERED || state.compareAndSet(OPEN, DELIVERED)) {
          super.onMessage(message);
        }
      }

      @Override
      public void onHalfClose() {
        if (state.get() != REFUSED) {
          super.onHalfClose();
        }
      }

      @Override
      public void onReady() {
        if (state.get() != REFUSED) {
          super.onReady();
        }
      }
    };
  }

  /** A call whose first close wins; a later one (from the chain, after a refusal) does nothing. */
  private static final class OnceClosingCall<ReqT, RespT>
      extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
    private boolean closed;

    OnceClosingCall(ServerCall<ReqT, RespT> delegate) {
      super(delegate);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      super.close(status, trailers);
    }
  }
}
