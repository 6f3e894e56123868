#!/usr/bin/python3
"""Calls llmproxy from Python: Complete (the whole answer), then StreamComplete (tokens printed as they
arrive), through stubs generated from the API's descriptor set (see gen_stubs.py).

Usage: client.py [--target HOST:PORT] [--api-key KEY] [--model M] [--max-tokens N] [--timeout S] PROMPT

Prints `complete: <text>`, `upstream: <name>`, then `stream: ` followed by each chunk's text the moment
it arrives. On a failed call prints `error: <CODE>: <description>` to stderr (with the retry-after of a
quota rejection) and exits 1. Run with Debian's interpreter, /usr/bin/python3, which has
python3-grpcio and python3-grpc-tools.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def load_stubs():
    try:
        from llmproxy.v1 import llmproxy_pb2, llmproxy_pb2_grpc
    except ImportError:
        import gen_stubs
        gen_stubs.generate()
        from llmproxy.v1 import llmproxy_pb2, llmproxy_pb2_grpc
    return llmproxy_pb2, llmproxy_pb2_grpc


def header(metadata, name):
    for key, value in metadata or ():
        if key == name:
            return value
    return None


def fail(error):
    import grpc
    code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
    message = "error: %s: %s" % (code, error.details() if isinstance(error, grpc.Call) else error)
    pushback = header(error.trailing_metadata(), "grpc-retry-pushback-ms") if isinstance(error, grpc.Call) else None
    if pushback is not None:
        message += " (retry after %s ms)" % pushback
    print(message, file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description="Call llmproxy's Complete and StreamComplete.")
    parser.add_argument("--target", default="127.0.0.1:50051", help="the proxy, host:port")
    parser.add_argument("--api-key", help="sent as x-api-key")
    parser.add_argument("--model", default="", help="the model (empty: the default route)")
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline per call, seconds")
    parser.add_argument("prompt", nargs="+")
    args = parser.parse_args()

    import grpc
    pb, rpc = load_stubs()
    metadata = [("x-api-key", args.api_key)] if args.api_key else []
    request = pb.CompletionRequest(model=args.model, prompt=" ".join(args.prompt), max_tokens=args.max_tokens)

    streaming = False
    with grpc.insecure_channel(args.target) as channel:
        stub = rpc.LlmProxyStub(channel)
        try:
            completion, call = stub.Complete.with_call(request, metadata=metadata, timeout=args.timeout)
            print("complete: " + completion.text)
            print("upstream: %s" % header(call.initial_metadata(), "llmproxy-upstream"))

            sys.stdout.write("stream: ")
            sys.stdout.flush()
            streaming = True
            for chunk in stub.StreamComplete(request, metadata=metadata, timeout=args.timeout):
                sys.stdout.write(chunk.text)
                sys.stdout.flush()
            sys.stdout.write("\n")
        except grpc.RpcError as error:
            if streaming:
                sys.stdout.write("\n")
                sys.stdout.flush()
            fail(error)


if __name__ == "__main__":
    main()
