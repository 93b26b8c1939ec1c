// gRPC-Web through real sidecars, as a browser's grpc-web library speaks it: HTTP/1.1 POSTs with
// gRPC-Web framing to the client's sidecar, which converts them to gRPC (the Service port is
// named grpc-web) for a real @grpc/grpc-js server, and converts the answer back: the message,
// the initial metadata in the head, grpc-status and the other trailers as a trailer frame, in
// binary and in text (base64) mode. A plain gRPC client on the same port still works.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ECHO_PROTO, GRPC_SERVER } from './support/protocol-apps.js';
import { IDLE_APP, SKIFF, eventually, tempTree } from './support/skiff.js';

const MESH = `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: client, labels: { app: client } }
spec:
  command: [node, idle.mjs]
---
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: web-v1, labels: { app: web-echo } }
spec:
  command: [node, grpc.mjs]
  env: { VERSION: web-v1 }
  ports: [{ name: grpc-web, containerPort: 9090 }]
---
apiVersion: v1
kind: Service
metadata: { name: web-echo }
spec:
  selector: { app: web-echo }
  ports: [{ name: grpc-web, port: 9090 }]
`;

const AUTHORITY = 'web-echo:9090';
const UNARY = `http://${AUTHORITY}/skiff.test.Echo/Unary`;

// --- the minimal grpc-web client: protobuf strings, frames, trailers -------------------------

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** An EchoRequest: message (field 1), both strings. */
function echoRequest(message: string): Buffer {
  const bytes = Buffer.from(message);
  return Buffer.concat([Buffer.from([0x0a]), varint(bytes.length), bytes]);
}

/** The string fields of a message, by field number. */
function stringFields(buf: Buffer): Record<number, string> {
  const out: Record<number, string> = {};
  let at = 0;
  const readVarint = () => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = buf[at++] as number;
      n |= (b & 0x7f) << shift;
      if (b < 0x80) return n;
      shift += 7;
    }
  };
  while (at < buf.length) {
    const tag = readVarint();
    if ((tag & 7) === 2) {
      const len = readVarint();
      out[tag >>> 3] = buf.subarray(at, at + len).toString();
      at += len;
    } else {
      readVarint();
    }
  }
  return out;
}

function frame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A binary gRPC-Web body: messages, and the trailer frame's `name:value` lines. */
function parseFrames(body: Buffer): { messages: Buffer[]; trailers: Record<string, string> } {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let at = 0;
  while (at < body.length) {
    assert.ok(body.length - at >= 5, 'truncated frame header');
    const flag = body[at] as number;
    const end = at + 5 + body.readUInt32BE(at + 1);
    assert.ok(end <= body.length, 'truncated frame');
    const payload = body.subarray(at + 5, end);
    if (flag & 0x80) {
      for (const line of payload.toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        // grpc-message is percent-encoded (gRPC's PROTOCOL-HTTP2.md); the library decodes it.
        const name = line.slice(0, colon).toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (colon > 0) trailers[name] = name === 'grpc-message' ? decodeURIComponent(value) : value;
      }
    } else {
      messages.push(payload);
    }
    at = end;
  }
  return { messages, trailers };
}

/** A text-mode body: base64 segments, each padded on its own (one per frame). */
function decodeText(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const segment of text.match(/[^=]*(?:=+|$)/g) ?? [])
    if (segment) parts.push(Buffer.from(segment, 'base64'));
  return Buffer.concat(parts);
}

interface WebReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  httpTrailers: NodeJS.Dict<string>;
}

/**
 * POSTs `chunks` through the client's sidecar (its HTTP proxy listener) over HTTP/1.1, as
 * grpc-web's XHR transport does; several chunks go out as several chunked-encoding writes.
 */
function webCall(
  proxyPort: number,
  url: string,
  chunks: Buffer[],
  headers: Record<string, string>,
): Promise<WebReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxyPort,
        method: 'POST',
        path: url,
        agent: false,
        headers: {
          host: new URL(url).host,
          'x-grpc-web': '1',
          'x-user-agent': 'grpc-web-javascript/0.1',
          ...(chunks.length === 1
            ? { 'content-length': String(chunks[0]?.length ?? 0) }
            : { 'transfer-encoding': 'chunked' }),
          ...headers,
        },
      },
      (res) => {
        const body: Buffer[] = [];
        res.on('data', (c: Buffer) => body.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(body),
            httpTrailers: res.trailers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} in 10 s`)));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const BINARY = { 'content-type': 'application/grpc-web+proto', accept: 'application/grpc-web' };
const TEXT = {
  'content-type': 'application/grpc-web-text',
  accept: 'application/grpc-web-text',
};

/** Splits a string into pieces of `size` (to cut base64 quanta across writes). */
function pieces(text: string, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < text.length; at += size) out.push(Buffer.from(text.slice(at, at + size)));
  return out;
}

describe('gRPC-Web through real sidecars', { timeout: 240_000 }, () => {
  let mesh: Mesh;
  let outbound: number;
  let dir: string;

  before(async () => {
    dir = tempTree('skiff-grpc-web-', {
      'mesh.yaml': MESH,
      'echo.proto': ECHO_PROTO,
      'grpc.mjs': GRPC_SERVER,
      'idle.mjs': IDLE_APP,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
    });
    const client = mesh.record.instances.find((i) => i.workloadName === 'client');
    assert.ok(client);
    outbound = client.outboundPort;
    // Until the route and the endpoint are in place: a converted answer.
    await eventually('a gRPC-Web answer', async () => {
      const r = await webCall(outbound, UNARY, [frame(echoRequest('ping'))], BINARY);
      return r.status === 200 && parseFrames(r.body).trailers['grpc-status'] === '0';
    });
  });

  after(async () => {
    await mesh?.stop();
  });

  test('binary mode: the message, initial metadata and trailers of a unary call', async () => {
    const r = await webCall(outbound, UNARY, [frame(echoRequest('hello'))], {
      ...BINARY,
      'x-client': 'browser',
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web+proto');
    assert.equal(r.headers['x-echo-client'], 'browser');
    assert.equal(r.headers['content-length'], undefined);
    const { messages, trailers } = parseFrames(r.body);
    assert.equal(messages.length, 1);
    assert.deepEqual(stringFields(messages[0] as Buffer), { 1: 'hello', 2: 'web-v1' });
    assert.equal(trailers['grpc-status'], '0');
    assert.equal(trailers['x-echo-trailer'], 'web-v1');
    // The trailers travel in the body, not as HTTP trailers.
    assert.deepEqual(r.httpTrailers, {});
  });

  test('text mode: base64 both ways, the request cut across base64 quanta', async () => {
    const text = frame(echoRequest('hello in base64')).toString('base64');
    const r = await webCall(outbound, UNARY, pieces(text, 5), TEXT);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web-text+proto');
    assert.match(r.body.toString(), /^[A-Za-z0-9+/=]+$/);
    const { messages, trailers } = parseFrames(decodeText(r.body.toString()));
    assert.equal(messages.length, 1);
    assert.deepEqual(stringFields(messages[0] as Buffer), { 1: 'hello in base64', 2: 'web-v1' });
    assert.equal(trailers['grpc-status'], '0');
    assert.equal(trailers['x-echo-trailer'], 'web-v1');
  });

  test('an error status: grpc-status, grpc-message and trailers in the trailer frame', async () => {
    for (const [mode, headers, encode, decode] of [
      ['binary', BINARY, (b: Buffer) => b, (b: Buffer) => b],
      [
        'text',
        TEXT,
        (b: Buffer) => Buffer.from(b.toString('base64')),
        (b: Buffer) => decodeText(b.toString()),
      ],
    ] as const) {
      const r = await webCall(outbound, UNARY, [encode(frame(echoRequest('missing')))], headers);
      assert.equal(r.status, 200, mode);
      const { messages, trailers } = parseFrames(decode(r.body));
      assert.equal(messages.length, 0, mode);
      assert.equal(trailers['grpc-status'], String(grpc.status.NOT_FOUND), mode);
      assert.equal(trailers['grpc-message'], 'no such message', mode);
      assert.equal(trailers['x-reason'], 'nothing by that name', mode);
    }
  });

  test('a trailers-only answer keeps grpc-status in the head', async () => {
    const r = await webCall(
      outbound,
      `http://${AUTHORITY}/skiff.test.Echo/NoSuchMethod`,
      [frame(echoRequest('x'))],
      BINARY,
    );
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/grpc-web+proto');
    assert.equal(r.headers['grpc-status'], String(grpc.status.UNIMPLEMENTED));
    assert.equal(r.body.length, 0);
  });

  test('a text body that is not base64: 400 from the sidecar', async () => {
    for (const body of ['AAAA!!!!', 'AAAAAA']) {
      const r = await webCall(outbound, UNARY, [Buffer.from(body)], TEXT);
      assert.equal(r.status, 400, body);
      assert.equal(r.body.toString(), 'Bad gRPC-web request, invalid base64 data.');
    }
    // The sidecar is fine afterwards.
    const ok = await webCall(outbound, UNARY, [frame(echoRequest('after'))], BINARY);
    assert.equal(parseFrames(ok.body).trailers['grpc-status'], '0');
  });

  test('no sidecar crashed or restarted on the way', () => {
    const logs = path.join(dir, '.skiff', 'logs');
    for (const f of readdirSync(logs).filter((n) => n.endsWith('.sidecar.log')))
      assert.doesNotMatch(readFileSync(path.join(logs, f), 'utf8'), /skiff: exited/, f);
  });

  test('a plain gRPC client on the same port still works', async () => {
    const def = loader.loadSync(path.join(dir, 'echo.proto'), { keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      skiff: { test: { Echo: grpc.ServiceClientConstructor } };
    };
    const client = new pkg.skiff.test.Echo(
      `127.0.0.1:${outbound}`,
      grpc.credentials.createInsecure(),
      { 'grpc.default_authority': AUTHORITY, 'grpc.enable_http_proxy': 0 },
    ) as unknown as grpc.Client & {
      Unary(
        req: { message: string },
        cb: (err: grpc.ServiceError | null, reply?: { message: string; version: string }) => void,
      ): grpc.ClientUnaryCall;
    };
    try {
      const reply = await new Promise<{ message: string; version: string } | undefined>(
        (resolve, reject) =>
          client.Unary({ message: 'plain' }, (err, r) => (err ? reject(err) : resolve(r))),
      );
      assert.deepEqual(reply, { message: 'plain', version: 'web-v1' });
    } finally {
      client.close();
    }
  });
});
