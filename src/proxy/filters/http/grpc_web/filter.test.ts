import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ProxyError } from '../../../errors.js';
import { compileHcm } from '../../network/http_connection_manager/config.js';
import { FlatHeaderMap } from '../header-map.js';
import { routedStream } from '../testing.js';
import { GRPC_WEB_TYPE, GrpcWebFilter, GrpcWebTransform, decodeTextBody } from './filter.js';

const NAME = 'envoy.filters.http.grpc_web';

function frame(payload: string, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(Buffer.byteLength(payload), 1);
  return Buffer.concat([head, Buffer.from(payload)]);
}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function chunked(text: string, size: number): Readable {
  const parts: Buffer[] = [];
  for (let at = 0; at < text.length; at += size) parts.push(Buffer.from(text.slice(at, at + size)));
  return Readable.from(parts);
}

test('grpc-web content types get a transform; anything else passes untouched', () => {
  const f = new GrpcWebFilter();
  for (const ct of [
    'application/grpc-web',
    'application/grpc-web+proto',
    'application/grpc-web-text',
    'application/grpc-web-text+proto',
  ]) {
    const s = routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], {
      method: 'POST',
      headers: { 'content-type': ct },
    });
    assert.equal(f.onRequest(s), undefined);
    assert.ok(s.bodyTransform instanceof GrpcWebTransform, ct);
  }
  for (const ct of ['application/grpc', 'application/grpc-web+json', 'text/plain', undefined]) {
    const s = routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], {
      method: 'POST',
      headers: ct ? { 'content-type': ct } : {},
    });
    f.onRequest(s);
    assert.equal(s.bodyTransform, undefined, String(ct));
  }
});

test('the upstream request is gRPC: content-type, te, no content-length, grpc-accept-encoding', () => {
  const h = new FlatHeaderMap([
    'host',
    'svc',
    'content-type',
    'application/grpc-web-text',
    'content-length',
    '12',
    'x-grpc-web',
    '1',
  ]);
  new GrpcWebTransform(true, true).requestHeaders(h);
  assert.equal(h.get('content-type'), 'application/grpc');
  assert.equal(h.get('te'), 'trailers');
  assert.equal(h.get('content-length'), undefined);
  assert.equal(h.get('grpc-accept-encoding'), 'identity');
  assert.equal(h.get('x-grpc-web'), '1');
});

test('binary mode: the body goes through, the trailers become a trailer frame', () => {
  const t = new GrpcWebTransform(false, false);
  assert.equal(t.requestBody, undefined);
  assert.equal(t.responseData, undefined);
  const h = new FlatHeaderMap(['content-type', 'application/grpc', 'content-length', '9']);
  t.responseHeaders(200, h);
  assert.equal(h.get('content-type'), 'application/grpc-web+proto');
  assert.equal(h.get('content-length'), undefined);
  const end = t.responseEnd({ 'grpc-status': '0', 'grpc-message': '' });
  assert.deepEqual(end.data, frame('grpc-status:0\r\ngrpc-message:\r\n', 0x80));
  assert.equal(end.trailers, undefined);
  assert.deepEqual(t.responseEnd(undefined), {});
});

test('text mode: frames and the trailer frame come back base64-encoded', () => {
  const t = new GrpcWebTransform(true, true);
  const h = new FlatHeaderMap(['content-type', 'application/grpc']);
  t.responseHeaders(200, h);
  assert.equal(h.get('content-type'), 'application/grpc-web-text+proto');
  const msg = frame('reply');
  const a = t.responseData?.(msg.subarray(0, 3));
  const b = t.responseData?.(msg.subarray(3));
  assert.equal(a?.length, 0);
  assert.equal(b?.toString(), msg.toString('base64'));
  const end = t.responseEnd({ 'grpc-status': '0' });
  assert.equal(end.data?.toString(), frame('grpc-status:0\r\n', 0x80).toString('base64'));
});

test('text requests decode across chunk boundaries', async () => {
  const body = Buffer.concat([frame('hello'), frame('again and again')]);
  const text = body.toString('base64');
  for (const size of [1, 2, 3, 5, 7, text.length]) {
    assert.deepEqual(await readAll(decodeTextBody(chunked(text, size))), body, `size ${size}`);
  }
});

test('malformed text requests fail with a 400 local reply, not a crash', async () => {
  for (const [text, details] of [
    ['AAAA!AAA', 'grpc_base_64_decode_failed'],
    ['AAAAAA', 'grpc_base_64_decode_failed_bad_size'],
  ] as const) {
    const err = await readAll(decodeTextBody(chunked(text, 3))).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProxyError, text);
    assert.equal(err.status, 400);
    assert.equal(err.details, details);
    assert.equal(err.body, 'Bad gRPC-web request, invalid base64 data.');
  }
});

test('a disabled grpc_web filter runs only where a route enables it', () => {
  const hcm = compileHcm({
    stat_prefix: 's',
    route_config: { name: 'r', virtual_hosts: [] },
    http_filters: [
      {
        name: NAME,
        disabled: true,
        typed_config: { '@type': `type.googleapis.com/${GRPC_WEB_TYPE}` },
      },
      {
        name: 'envoy.filters.http.router',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        },
      },
    ],
  });
  const filter = hcm.filters[0]?.filter;
  assert.ok(filter?.onRequest);
  const route = { match: { prefix: '/' }, route: { cluster: 'c' } };
  const view = { method: 'POST', headers: { 'content-type': 'application/grpc-web' } };
  const plain = routedStream([route], view);
  void filter.onRequest(plain);
  assert.equal(plain.bodyTransform, undefined);
  const enabled = routedStream([route], view, {
    typed_per_filter_config: {
      [NAME]: {
        '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
        config: { '@type': `type.googleapis.com/${GRPC_WEB_TYPE}` },
      },
    },
  });
  void filter.onRequest(enabled);
  assert.ok(enabled.bodyTransform);
});
