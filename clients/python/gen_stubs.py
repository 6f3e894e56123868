#!/usr/bin/python3
"""Generates the Python stubs of the llmproxy API into clients/python/llmproxy/v1/ (git-ignored).

Source: the descriptor set that the llmproxy-proto jar carries (llmproxy/v1/llmproxy.desc), which
protoc 3.25 compiled from proto/src/main/proto/llmproxy/v1/llmproxy.proto.

Why the descriptor set and not the .proto: Debian's python3-grpc-tools (1.14) bundles protoc 3.5.1,
which predates proto3 `optional` (protoc 3.12) and rejects the .proto's `optional` fields; it has no
--experimental_allow_proto3_optional flag either (that came with 3.12 too). Given the compiled
descriptor set, it reads each `optional` field as the synthetic one-field oneof it is on the wire
(`_temperature`, ...), so presence still works: `request.HasField("temperature")`. A newer grpcio-tools
generates the same API from this input.

`python3 -m grpc_tools.protoc` always adds `-I<its bundled protos>`, which protoc refuses together with
--descriptor_set_in, so this calls grpc_tools.protoc.main() directly.

Usage: gen_stubs.py [--from PATH]   PATH: a .desc file or the llmproxy-proto jar
       (default: the jar or classes that `./mvnw install` built under proto/target)
"""
import argparse
import glob
import os
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DESC_IN_JAR = "llmproxy/v1/llmproxy.desc"
PROTO = "llmproxy/v1/llmproxy.proto"


def default_source():
    jars = sorted(glob.glob(os.path.join(REPO, "proto", "target", "llmproxy-proto-*.jar")))
    jars = [j for j in jars if not j.endswith(("-sources.jar", "-javadoc.jar"))]
    if jars:
        return jars[-1]
    desc = os.path.join(REPO, "proto", "target", "classes", DESC_IN_JAR)
    if os.path.exists(desc):
        return desc
    sys.exit("gen_stubs: no descriptor set found under proto/target (expected: run ./mvnw install first, "
             "or pass --from PATH to a .desc file or the llmproxy-proto jar)")


def read_descriptor_set(source):
    if source.endswith(".jar"):
        with zipfile.ZipFile(source) as jar:
            try:
                return jar.read(DESC_IN_JAR)
            except KeyError:
                sys.exit("gen_stubs: %s has no %s (expected: the llmproxy-proto jar)" % (source, DESC_IN_JAR))
    with open(source, "rb") as f:
        return f.read()


def generate(source=None, out=HERE):
    try:
        from grpc_tools import protoc
    except ImportError:
        sys.exit("gen_stubs: the grpc_tools module is missing (expected: Debian/Ubuntu: "
                 "sudo apt-get install python3-grpc-tools, then run this with /usr/bin/python3; "
                 "or in a virtualenv: pip install grpcio-tools)")

    source = source or default_source()
    with tempfile.NamedTemporaryFile(suffix=".desc") as desc:
        desc.write(read_descriptor_set(source))
        desc.flush()
        status = protoc.main(["protoc", "--descriptor_set_in=" + desc.name,
                              "--python_out=" + out, "--grpc_python_out=" + out, PROTO])
    if status != 0:
        sys.exit("gen_stubs: protoc failed with status %d on %s" % (status, source))
    return source


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="a .desc file or the llmproxy-proto jar")
    args = parser.parse_args()
    used = generate(args.source)
    print("gen_stubs: generated %s/llmproxy/v1/ from %s" % (os.path.relpath(HERE), os.path.relpath(used)))
