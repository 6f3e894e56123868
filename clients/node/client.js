#!/usr/bin/env node
// Calls llmproxy from Node: Complete (the whole answer), then StreamComplete (tokens printed as they
// arrive). The stubs are generated at run time by @grpc/proto-loader from the API's .proto,
// proto/src/main/proto/llmproxy/v1/llmproxy.proto (or --proto PATH, e.g. the file from the
// llmproxy-proto jar).
//
// Usage: node client.js [--target HOST:PORT] [--api-key KEY] [--model M] [--max-tokens N]
//                       [--timeout S] [--proto PATH] PROMPT...
//
// Prints `complete: <text>`, `upstream: <name>`, then `stream: ` followed by each chunk's text the
// moment it arrives. On a failed call prints `error: <CODE>: <description>` to stderr (with the
// retry-after of a quota rejection) and exits 1.
'use strict';

const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DEFAULT_PROTO = path.join(__dirname, '..', '..', 'proto', 'src', 'main', 'proto', 'llmproxy', 'v1',
  'llmproxy.proto');

function usage(problem) {
  console.error(`client.js: ${problem}`);
  console.error('usage: node client.js [--target HOST:PORT] [--api-key KEY] [--model M] [--max-tokens N] '
    + '[--timeout S] [--proto PATH] PROMPT...');
  process.exit(2);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        target: { type: 'string', default: '127.0.0.1:50051' },
        'api-key': { type: 'string' },
        model: { type: 'string', default: '' },
        'max-tokens': { type: 'string', default: '24' },
        timeout: { type: 'string', default: '30' },
        proto: { type: 'string', default: DEFAULT_PROTO },
      },
    });
  } catch (error) {
    usage(error.message.split('\n')[0]);
  }
  const { values, positionals } = parsed;
  const maxTokens = Number(values['max-tokens']);
  const timeout = Number(values.timeout);
  if (positionals.length === 0) {
    usage('a prompt is required');
  }
  if (!Number.isInteger(maxTokens)) {
    usage(`--max-tokens: ${values['max-tokens']} (expected: an integer)`);
  }
  if (!(timeout > 0)) {
    usage(`--timeout: ${values.timeout} (expected: seconds > 0)`);
  }
  return { ...values, maxTokens, timeout, prompt: positionals.join(' ') };
}

function loadStub(protoFile, target) {
  const definition = protoLoader.loadSync(protoFile, {
    keepCase: true, // field names as in the .proto: max_tokens
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const api = grpc.loadPackageDefinition(definition).llmproxy.v1;
  return new api.LlmProxy(target, grpc.credentials.createInsecure());
}

function fail(error) {
  const code = grpc.status[error.code] || 'UNKNOWN';
  const pushback = error.metadata ? error.metadata.get('grpc-retry-pushback-ms')[0] : undefined;
  console.error(`error: ${code}: ${error.details || error.message}`
    + (pushback !== undefined ? ` (retry after ${pushback} ms)` : ''));
  process.exit(1);
}

function main() {
  const opts = options();
  const stub = loadStub(path.resolve(opts.proto), opts.target);
  const metadata = new grpc.Metadata();
  if (opts['api-key']) {
    metadata.set('x-api-key', opts['api-key']);
  }
  const request = { model: opts.model, prompt: opts.prompt, max_tokens: opts.maxTokens };
  const deadline = () => new Date(Date.now() + opts.timeout * 1000);

  let upstream = null;
  const call = stub.Complete(request, metadata, { deadline: deadline() }, (error, completion) => {
    if (error) {
      fail(error);
    }
    process.stdout.write(`complete: ${completion.text}\nupstream: ${upstream}\nstream: `);
    const stream = stub.StreamComplete(request, metadata, { deadline: deadline() });
    stream.on('data', (chunk) => process.stdout.write(chunk.text));
    stream.on('error', (streamError) => {
      process.stdout.write('\n');
      fail(streamError);
    });
    stream.on('end', () => {
      process.stdout.write('\n');
      stub.close();
    });
  });
  call.on('metadata', (headers) => {
    upstream = headers.get('llmproxy-upstream')[0] || null;
  });
}

if (require.main === module) {
  main();
}

module.exports = { loadStub, fail, DEFAULT_PROTO };
