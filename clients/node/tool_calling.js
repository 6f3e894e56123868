#!/usr/bin/env node
// A tool-calling loop in Node: the model is offered two functions; each answer is streamed, its tool
// calls put together from their deltas (pieces with the same index form one call), the functions run
// here, their results go back as `tool` messages, and the loop ends when the model answers with text.
// Against the demo, whose simulated backend calls the tools for the user and answers the results.
//
// Usage: node tool_calling.js [--target HOST:PORT] [--api-key KEY] [--model M] [--proto PATH]
//
// Prints `tool call: <name> <arguments>` and `tool result: <json>` per call, then `answer: <text>`.
// On a failed call prints `error: <CODE>: <description>` to stderr and exits 1.
'use strict';

const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const { loadStub, fail, DEFAULT_PROTO } = require('./client');

const WEATHER = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
};
const TIME = { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] };

// google.protobuf.Struct as @grpc/proto-loader represents it: {fields: {name: {stringValue: ...}}}.
function toValue(v) {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === 'object') return { structValue: toStruct(v) };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return { numberValue: v };
}

function toStruct(object) {
  return { fields: Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toValue(v)])) };
}

// The local functions the model may call: made-up data, as JSON.
function runTool(name, args) {
  if (name === 'get_weather') return JSON.stringify({ city: args.city, temperature: 4, unit: args.unit });
  if (name === 'get_time') return JSON.stringify({ zone: args.zone, time: '09:30' });
  return JSON.stringify({ error: 'no such function' });
}

function streamOnce(stub, request, metadata) {
  return new Promise((resolve, reject) => {
    let text = '';
    let finish = 'FINISH_REASON_UNSPECIFIED';
    const calls = [];
    const stream = stub.StreamComplete(request, metadata, { deadline: new Date(Date.now() + 30000) });
    stream.on('data', (chunk) => {
      text += chunk.text;
      for (const delta of chunk.tool_calls) {
        const call = calls[delta.index] || (calls[delta.index] = { id: '', name: '', arguments: '' });
        call.id = call.id || delta.id;
        call.name = call.name || delta.name;
        call.arguments += delta.arguments;
      }
      if (chunk.finish_reason !== 'FINISH_REASON_UNSPECIFIED') finish = chunk.finish_reason;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve({ text, finish, calls }));
  });
}

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: '127.0.0.1:50051' },
      'api-key': { type: 'string' },
      model: { type: 'string', default: 'sim' },
      proto: { type: 'string', default: DEFAULT_PROTO },
    },
  });
  const stub = loadStub(path.resolve(values.proto), values.target);
  const metadata = new grpc.Metadata();
  if (values['api-key']) metadata.set('x-api-key', values['api-key']);
  const request = {
    model: values.model,
    max_tokens: 16,
    parallel_tool_calls: true,
    messages: [{ role: 'user', content: 'What is the weather in Oslo, and what time is it there?' }],
    tools: [
      { function: { name: 'get_weather', description: 'Current weather of a city', parameters: toStruct(WEATHER) } },
      { function: { name: 'get_time', description: 'Local time in a time zone', parameters: toStruct(TIME) } },
    ],
  };
  for (let round = 0; round < 4; round++) {
    let answer;
    try {
      answer = await streamOnce(stub, request, metadata);
    } catch (error) {
      fail(error);
    }
    if (answer.finish !== 'FINISH_REASON_TOOL_CALLS') {
      console.log(`answer: ${answer.text}`);
      stub.close();
      return;
    }
    request.messages.push({
      role: 'assistant',
      tool_calls: answer.calls.map((c) => ({ id: c.id, function: { name: c.name, arguments: c.arguments } })),
    });
    for (const call of answer.calls) {
      const result = runTool(call.name, JSON.parse(call.arguments));
      console.log(`tool call: ${call.name} ${call.arguments}`);
      console.log(`tool result: ${result}`);
      request.messages.push({ role: 'tool', tool_call_id: call.id, content: result });
    }
  }
  console.error('error: UNKNOWN: no answer after 4 rounds');
  process.exit(1);
}

main();
