#!/usr/bin/python3
"""A tool-calling loop in Python: the model is offered two functions; each answer is streamed, its
tool calls put together from their deltas (pieces with the same index form one call), the functions
run here, their results go back as `tool` messages, and the loop ends when the model answers with
text. Against the demo, whose simulated backend calls the tools for the user and answers the results.

Usage: tool_calling.py [--target HOST:PORT] [--api-key KEY] [--model M] [--timeout S]

Prints `tool call: <name> <arguments>` and `tool result: <json>` per call, then `answer: <text>`.
On a failed call prints `error: <CODE>: <description>` to stderr and exits 1.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from client import fail, load_stubs  # noqa: E402  (the stubs and error format of client.py)

WEATHER = {"type": "object",
           "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
           "required": ["city", "unit"]}
TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}


def run_tool(name, arguments):
    """The local functions the model may call: made-up data, as JSON."""
    if name == "get_weather":
        return json.dumps({"city": arguments["city"], "temperature": 4, "unit": arguments["unit"]})
    if name == "get_time":
        return json.dumps({"zone": arguments["zone"], "time": "09:30"})
    return json.dumps({"error": "no such function"})


def function_tool(pb, name, description, schema):
    tool = pb.Tool(function=pb.FunctionDefinition(name=name, description=description))
    tool.function.parameters.update(schema)  # a google.protobuf.Struct from a dict
    return tool


def main():
    parser = argparse.ArgumentParser(description="A tool-calling loop through llmproxy.")
    parser.add_argument("--target", default="127.0.0.1:50051", help="the proxy, host:port")
    parser.add_argument("--api-key", help="sent as x-api-key")
    parser.add_argument("--model", default="sim")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline per call, seconds")
    args = parser.parse_args()

    import grpc
    pb, rpc = load_stubs()
    metadata = [("x-api-key", args.api_key)] if args.api_key else []
    request = pb.CompletionRequest(model=args.model, max_tokens=16, parallel_tool_calls=True)
    request.messages.add(role="user", content="What is the weather in Oslo, and what time is it there?")
    request.tools.extend([function_tool(pb, "get_weather", "Current weather of a city", WEATHER),
                          function_tool(pb, "get_time", "Local time in a time zone", TIME)])

    with grpc.insecure_channel(args.target) as channel:
        stub = rpc.LlmProxyStub(channel)
        for _ in range(4):
            text, calls, finish = "", {}, 0
            try:
                for chunk in stub.StreamComplete(request, metadata=metadata, timeout=args.timeout):
                    text += chunk.text
                    for delta in chunk.tool_calls:
                        call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                        call["id"] = call["id"] or delta.id
                        call["name"] = call["name"] or delta.name
                        call["arguments"] += delta.arguments
                    if chunk.finish_reason:
                        finish = chunk.finish_reason
            except grpc.RpcError as error:
                fail(error)
            if finish != pb.FINISH_REASON_TOOL_CALLS:
                print("answer: " + text)
                return
            assistant = request.messages.add(role="assistant")
            results = []
            for index in sorted(calls):
                call = calls[index]
                assistant.tool_calls.add(id=call["id"], function=pb.FunctionCall(name=call["name"],
                                                                                  arguments=call["arguments"]))
                result = run_tool(call["name"], json.loads(call["arguments"]))
                print("tool call: %s %s" % (call["name"], call["arguments"]))
                print("tool result: " + result)
                results.append(pb.Message(role="tool", tool_call_id=call["id"], content=result))
            request.messages.extend(results)
    print("error: UNKNOWN: no answer after 4 rounds", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
