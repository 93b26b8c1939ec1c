import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { addRequestHeader, removeRequestHeaders, requestHeaderValues } from './request-headers.js';

/** A request as node:http parses one: lower-case headers, raw field lines as sent. */
function request(lines: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < lines.length; i += 2) {
    const k = (lines[i] as string).toLowerCase();
    headers[k] =
      headers[k] === undefined ? (lines[i + 1] as string) : `${headers[k]}, ${lines[i + 1]}`;
  }
  return { headers, rawHeaders: [...lines] } as unknown as IncomingMessage;
}

test('removes every field line of each named header, whatever its case, from both views', () => {
  const req = request([
    'Host',
    'a',
    'X-Envoy-Peer-Metadata',
    'm1',
    'accept',
    '*/*',
    'x-envoy-peer-metadata-id',
    'id',
    'x-envoy-peer-metadata',
    'm2',
  ]);
  removeRequestHeaders(req, 'x-envoy-peer-metadata', 'x-envoy-peer-metadata-id');
  assert.deepEqual(req.rawHeaders, ['Host', 'a', 'accept', '*/*']);
  assert.deepEqual(Object.keys(req.headers), ['host', 'accept']);
  // Absent names: nothing changes.
  removeRequestHeaders(req, 'authorization');
  assert.deepEqual(req.rawHeaders, ['Host', 'a', 'accept', '*/*']);
});

test('adds a field line as a repeated header would parse; reads every value apart', () => {
  const req = request(['Cookie', 'a=1', 'host', 'h']);
  addRequestHeader(req, 'cookie', 'b=2');
  assert.equal(req.headers['cookie'], 'a=1, b=2');
  assert.deepEqual(requestHeaderValues(req, 'cookie'), ['a=1', 'b=2']);
  assert.deepEqual(requestHeaderValues(req, 'x-none'), []);
});
