import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Base64Decoder, TRAILER_FLAG, TextFrameEncoder, encodeTrailerFrame } from './codec.js';

/** A gRPC message frame (flag 0, big-endian length). */
function frame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

test('a trailer frame: flag 0x80, big-endian length, name:value CRLF lines', () => {
  const f = encodeTrailerFrame({ 'grpc-status': '0', 'grpc-message': 'ok', 'x-a': ['1', '2'] });
  const text = 'grpc-status:0\r\ngrpc-message:ok\r\nx-a:1\r\nx-a:2\r\n';
  assert.equal(f[0], TRAILER_FLAG);
  assert.equal(f.readUInt32BE(1), text.length);
  assert.equal(f.subarray(5).toString(), text);
});

test('a trailer frame skips pseudo-headers and undefined values', () => {
  const f = encodeTrailerFrame({ ':status': '200', 'grpc-status': '5', x: undefined });
  assert.equal(f.subarray(5).toString(), 'grpc-status:5\r\n');
});

test('base64 decodes the same however the body is chunked', () => {
  const body = Buffer.concat([frame(Buffer.from('hello world')), frame(Buffer.from([0, 1, 255]))]);
  const text = Buffer.from(body.toString('base64'));
  for (let size = 1; size <= text.length; size++) {
    const d = new Base64Decoder();
    const out: Buffer[] = [];
    for (let at = 0; at < text.length; at += size) {
      const r = d.push(text.subarray(at, at + size));
      assert.ok(Buffer.isBuffer(r), `chunk size ${size}`);
      out.push(r);
    }
    assert.equal(d.end(), undefined);
    assert.deepEqual(Buffer.concat(out), body, `chunk size ${size}`);
  }
});

test('base64 of messages encoded one by one (padding inside) decodes', () => {
  const a = frame(Buffer.from('a'));
  const b = frame(Buffer.from('bc'));
  const text = Buffer.from(a.toString('base64') + b.toString('base64'));
  assert.ok(text.toString().slice(0, -1).includes('='));
  const d = new Base64Decoder();
  const first = d.push(text.subarray(0, 7));
  const rest = d.push(text.subarray(7));
  assert.ok(Buffer.isBuffer(first) && Buffer.isBuffer(rest));
  assert.deepEqual(Buffer.concat([first, rest]), Buffer.concat([a, b]));
});

test('malformed base64 is a failure, never a throw', () => {
  for (const bad of ['ab!d', 'a=bc', '====', 'ab\r\n', 'a===']) {
    assert.equal(new Base64Decoder().push(Buffer.from(bad)), 'grpc_base_64_decode_failed', bad);
  }
  const d = new Base64Decoder();
  assert.ok(Buffer.isBuffer(d.push(Buffer.from('AAAAAA'))));
  assert.equal(d.end(), 'grpc_base_64_decode_failed_bad_size');
  const empty = new Base64Decoder();
  assert.deepEqual(empty.push(Buffer.alloc(0)), Buffer.alloc(0));
  assert.equal(empty.end(), undefined);
});

test('text responses: each whole frame base64-encoded on its own, across chunks', () => {
  const a = frame(Buffer.from('first message'));
  const b = frame(Buffer.from('second'));
  const both = Buffer.concat([a, b]);
  for (let size = 1; size <= both.length; size++) {
    const e = new TextFrameEncoder();
    let out = '';
    for (let at = 0; at < both.length; at += size)
      out += e.push(both.subarray(at, at + size)).toString();
    out += e.flush().toString();
    assert.equal(out, a.toString('base64') + b.toString('base64'), `chunk size ${size}`);
  }
});

test('text responses: an upstream that ends mid-frame gets its bytes flushed', () => {
  const e = new TextFrameEncoder();
  assert.equal(e.push(Buffer.from([0, 0, 0, 0, 9, 1])).length, 0);
  assert.equal(e.flush().toString(), Buffer.from([0, 0, 0, 0, 9, 1]).toString('base64'));
  assert.equal(e.flush().length, 0);
});
