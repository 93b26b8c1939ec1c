// Protocols end to end through real sidecars: gRPC (h2c prior knowledge on the outbound listener,
// and through a CONNECT tunnel as grpc-js does with http_proxy) with metadata, trailers,
// streaming and statuses; gRPC local replies; HTTP/2 to an HTTP/1.1 service; WebSocket through
// both sidecars; CONNECT tunnels to TCP ports with VirtualService tcp[] weights and a server that
// speaks first; tunnels to HTTP ports routed as HTTP; VirtualService tls[] by SNI; and the
// gateway's TCP and TLS PASSTHROUGH servers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ECHO_PROTO, GRPC_SERVER, TCP_ECHO, TLS_ECHO, WEB_APP } from './support/protocol-apps.js';
import { IDLE_APP, SKIFF, closeAgent, eventually, tempTree, viaProxy } from './support/skiff.js';
import { acceptKey, newKey, readFrames, textFrame } from './support/ws.js';

const TCP_GATEWAY_PORT = 31400;

const workload = (name: string, labels: string, command: string, ports: string) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  command: [node, ${command}]
  env: { VERSION: ${name} }
  ${ports ? `ports: [${ports}]` : ''}
`;

const service = (name: string, selector: string, ports: string) => `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { ${selector} }
  ports: [${ports}]
`;

const MESH = [
  workload('client', 'app: client', 'idle.mjs', ''),
  workload(
    'grpc-v1',
    'app: grpc-echo, version: v1',
    'grpc.mjs',
    '{ name: grpc, containerPort: 9090 }',
  ),
  service('grpc-echo', 'app: grpc-echo', '{ name: grpc, port: 9090 }'),
  // A gRPC service with no endpoint: its calls get the sidecar's local reply.
  service('grpc-none', 'app: nobody', '{ name: grpc, port: 9090 }'),
  workload('tcp-v1', 'app: tcp-echo, version: v1', 'tcp.mjs', '{ name: tcp, containerPort: 9000 }'),
  workload('tcp-v2', 'app: tcp-echo, version: v2', 'tcp.mjs', '{ name: tcp, containerPort: 9000 }'),
  service('tcp-echo', 'app: tcp-echo', '{ name: tcp, port: 9000 }'),
  workload('web-v1', 'app: web, version: v1', 'web.mjs', '{ name: http, containerPort: 8080 }'),
  workload('web-v2', 'app: web, version: v2', 'web.mjs', '{ name: http, containerPort: 8080 }'),
  service('web', 'app: web', '{ name: http-web, port: 8080 }'),
  workload('tls-a', 'app: tls-a', 'tls.mjs', '{ name: tls, containerPort: 8443 }'),
  workload('tls-b', 'app: tls-b', 'tls.mjs', '{ name: tls, containerPort: 8443 }'),
  service('tls-a', 'app: tls-a', '{ name: tls, port: 8443 }'),
  service('tls-b', 'app: tls-b', '{ name: tls, port: 8443 }'),
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-echo }
spec:
  host: tcp-echo
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`,
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web }
spec:
  host: web
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo }
spec:
  hosts: [tcp-echo]
  tcp:
    - match: [{ port: 9000 }]
      route:
        - { destination: { host: tcp-echo, subset: v1 }, weight: 75 }
        - { destination: { host: tcp-echo, subset: v2 }, weight: 25 }
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - match: [{ headers: { x-pick: { exact: v2 } } }]
      route: [{ destination: { host: web, subset: v2 } }]
    - route: [{ destination: { host: web, subset: v1 } }]
`,
  // SNI routing for hosts outside the cluster, to the two TLS services (as Istio's egress SNI
  // routing examples do): a.example.com always to tls-a, b.example.com split.
  `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tls-external }
spec:
  hosts: [a.example.com, b.example.com]
  location: MESH_EXTERNAL
  resolution: NONE
  ports: [{ number: 8443, name: tls, protocol: TLS }]
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tls-sni }
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [mesh, tls-gateway]
  tls:
    - match: [{ port: 8443, sniHosts: [a.example.com] }]
      route: [{ destination: { host: tls-a, port: { number: 8443 } } }]
    - match: [{ port: 8443, sniHosts: [b.example.com] }]
      route:
        - { destination: { host: tls-a, port: { number: 8443 } }, weight: 50 }
        - { destination: { host: tls-b, port: { number: 8443 } }, weight: 50 }
`,
  `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tls-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 8443, name: tls, protocol: TLS }
      tls: { mode: PASSTHROUGH }
      hosts: [a.example.com, b.example.com]
`,
  `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tcp-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: ${TCP_GATEWAY_PORT}, name: tcp, protocol: TCP }
      hosts: ['*']
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-gateway }
spec:
  hosts: ['*']
  gateways: [tcp-gateway]
  tcp:
    - match: [{ port: ${TCP_GATEWAY_PORT} }]
      route: [{ destination: { host: tcp-echo, subset: v2, port: { number: 9000 } } }]
`,
].join('---');

/** Opens a CONNECT tunnel through the client's sidecar; resolves with the socket after the 200. */
function connectTunnel(
  proxyPort: number,
  authority: string,
): Promise<{ socket: net.Socket; status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority },
      agent: false,
    });
    req.once('connect', (res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve({
        socket,
        status: res.statusCode ?? 0,
        head: JSON.stringify(res.headers),
      });
    });
    req.once('response', (res) => {
      res.resume();
      resolve({ socket: res.socket, status: res.statusCode ?? 0, head: '' });
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads from a socket until `done(text so far)` holds (or the peer closes). */
function readUntil(socket: net.Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer in 10 s, got ${JSON.stringify(text)}`));
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(text);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (done(text)) finish();
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function makeCertificate(dir: string): boolean {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=example.com',
        '-addext',
        'subjectAltName=DNS:a.example.com,DNS:b.example.com',
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}

interface EchoClient extends grpc.Client {
  Unary(
    req: { message: string },
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: { message: string; version: string }) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(req: { message: string; count: number }): grpc.ClientReadableStream<{
    message: string;
  }>;
  Bidi(): grpc.ClientDuplexStream<{ message: string }, { message: string }>;
}

describe('protocols through real sidecars', { timeout: 300_000 }, () => {
  let dir: string;
  let mesh: Mesh;
  let outbound: number;
  let haveTls: boolean;
  let Echo: grpc.ServiceClientConstructor;
  const clients: grpc.Client[] = [];

  before(async () => {
    dir = tempTree('skiff-protocols-', {
      'mesh.yaml': MESH,
      'echo.proto': ECHO_PROTO,
      'grpc.mjs': GRPC_SERVER,
      'tcp.mjs': TCP_ECHO,
      'tls.mjs': TLS_ECHO,
      'web.mjs': WEB_APP,
      'idle.mjs': IDLE_APP,
    });
    haveTls = makeCertificate(dir);
    if (!haveTls) writeFileSync(path.join(dir, 'tls.mjs'), TCP_ECHO);
    const def = loader.loadSync(path.join(dir, 'echo.proto'), { keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      skiff: { test: { Echo: grpc.ServiceClientConstructor } };
    };
    Echo = pkg.skiff.test.Echo;
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
  });

  after(async () => {
    for (const c of clients) c.close();
    closeAgent();
    await mesh?.stop();
  });

  /** A grpc-js client that talks h2c straight to the sidecar's outbound listener. */
  function direct(authority: string): EchoClient {
    const c = new Echo(`127.0.0.1:${outbound}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': authority,
      'grpc.enable_http_proxy': 0,
    }) as unknown as EchoClient;
    clients.push(c);
    return c;
  }

  /** A grpc-js client as an app with http_proxy builds it: CONNECT through the sidecar. */
  function viaConnect(target: string): EchoClient {
    const before = process.env['grpc_proxy'];
    process.env['grpc_proxy'] = `http://127.0.0.1:${outbound}`;
    try {
      const c = new Echo(target, grpc.credentials.createInsecure()) as unknown as EchoClient;
      clients.push(c);
      return c;
    } finally {
      if (before === undefined) delete process.env['grpc_proxy'];
      else process.env['grpc_proxy'] = before;
    }
  }

  function unary(
    c: EchoClient,
    message: string,
  ): Promise<{
    err: grpc.ServiceError | null;
    reply: { message: string; version: string } | undefined;
    headers: grpc.Metadata | undefined;
    trailers: grpc.Metadata | undefined;
  }> {
    return new Promise((resolve) => {
      const md = new grpc.Metadata();
      md.set('x-client', 'protocols-test');
      let headers: grpc.Metadata | undefined;
      let trailers: grpc.Metadata | undefined;
      const call = c.Unary({ message }, md, { deadline: Date.now() + 15_000 }, (err, reply) => {
        // The status event (with trailers) may come after the callback.
        setImmediate(() => resolve({ err, reply, headers, trailers }));
      });
      call.on('metadata', (m) => (headers = m));
      call.on('status', (s) => (trailers = s.metadata));
    });
  }

  for (const [how, make] of [
    ['h2c prior knowledge on the outbound listener', () => direct('grpc-echo:9090')],
    ['a CONNECT tunnel (grpc-js with http_proxy)', () => viaConnect('grpc-echo:9090')],
  ] as const) {
    test(`gRPC unary through ${how}: metadata both ways, trailers, a status`, async () => {
      const c = make();
      const ok = await unary(c, 'hello');
      assert.equal(ok.err, null, String(ok.err));
      assert.deepEqual(ok.reply, { message: 'hello', version: 'grpc-v1' });
      assert.equal(ok.headers?.get('x-echo-client')[0], 'protocols-test');
      assert.equal(ok.trailers?.get('x-echo-trailer')[0], 'grpc-v1');
      // A status and its trailers cross both sidecars (a trailers-only response).
      const missing = await unary(c, 'missing');
      assert.equal(missing.err?.code, grpc.status.NOT_FOUND);
      assert.equal(missing.err?.details, 'no such message');
      assert.equal(missing.err?.metadata.get('x-reason')[0], 'nothing by that name');
    });
  }

  test('gRPC server streaming and bidirectional streaming', async () => {
    const c = direct('grpc-echo:9090');
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = c.ServerStream({ message: 'tick', count: 50 });
      s.on('data', (m: { message: string }) => got.push(m.message));
      s.on('error', reject);
      s.on('end', resolve);
    });
    assert.equal(got.length, 50);
    assert.equal(got[49], 'tick #49');
    const b = viaConnect('grpc-echo:9090').Bidi();
    const replies: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      b.on('data', (m: { message: string }) => {
        replies.push(m.message);
        // Each reply prompts the next message: proof the stream is interactive both ways.
        if (replies.length < 5) b.write({ message: `m${replies.length}` });
        else b.end();
      });
      b.on('error', reject);
      b.on('end', resolve);
    });
    b.write({ message: 'm0' });
    await done;
    assert.deepEqual(replies, ['echo m0', 'echo m1', 'echo m2', 'echo m3', 'echo m4']);
  });

  test('gRPC local reply: no healthy upstream is 200 with grpc-status UNAVAILABLE', async () => {
    const r = await unary(direct('grpc-none:9090'), 'anyone?');
    assert.equal(r.err?.code, grpc.status.UNAVAILABLE, String(r.err));
    assert.equal(r.err?.details, 'no healthy upstream');
    // The raw answer, as Envoy sends it: HTTP 200, a trailers-only response.
    const session = http2.connect(`http://127.0.0.1:${outbound}`);
    try {
      const head = await new Promise<Record<string, unknown> & { flags: number }>(
        (resolve, reject) => {
          const s = session.request({
            ':method': 'POST',
            ':path': '/skiff.test.Echo/Unary',
            ':authority': 'grpc-none:9090',
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          s.on('response', (h, flags) => resolve({ ...h, flags }));
          s.on('error', reject);
          s.end(Buffer.from([0, 0, 0, 0, 0]));
          s.resume();
        },
      );
      assert.equal(head[':status'], 200);
      assert.equal(head['grpc-status'], '14');
      assert.equal(head['grpc-message'], 'no healthy upstream');
      assert.equal(head['content-type'], 'application/grpc');
      assert.ok(head.flags & http2.constants.NGHTTP2_FLAG_END_STREAM, 'trailers-only');
    } finally {
      session.close();
    }
  });

  test('HTTP/2 (h2c) to an HTTP/1.1 service, and HTTP/1.1 on the same listener', async () => {
    const session = http2.connect(`http://127.0.0.1:${outbound}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/h2', ':authority': 'web:8080', 'x-pick': 'v2' });
        let text = '';
        s.setEncoding('utf8');
        s.on('data', (c: string) => (text += c));
        s.on('end', () => resolve(text));
        s.on('error', reject);
      });
      assert.equal(body, 'web-v2 GET /h2 host=web:8080');
    } finally {
      session.close();
    }
    const r = await viaProxy(outbound, 'http://web:8080/h1');
    assert.equal(r.body, 'web-v1 GET /h1 host=web:8080');
  });

  test('WebSocket upgrade through both sidecars, bytes both ways', async () => {
    const socket = net.connect(outbound, '127.0.0.1');
    const key = newKey();
    socket.write(
      'GET http://web:8080/ws HTTP/1.1\r\nhost: web:8080\r\nupgrade: websocket\r\n' +
        `connection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`,
    );
    let data: Buffer = Buffer.alloc(0);
    const frames: string[] = [];
    const headText = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const head = data.subarray(0, end).toString('latin1');
        data = data.subarray(end + 4);
        resolve(head);
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    assert.match(headText, /^HTTP\/1\.1 101/);
    assert.match(
      headText.toLowerCase(),
      new RegExp(`sec-websocket-accept: ${acceptKey(key).toLowerCase().replace(/[+/]/g, '\\$&')}`),
    );
    const received = new Promise<void>((resolve) => {
      const take = (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        const { texts, rest } = readFrames(data);
        data = rest;
        frames.push(...texts);
        if (frames.length >= 3) resolve();
      };
      socket.on('data', take);
      take(Buffer.alloc(0));
    });
    for (const m of ['one', 'two', 'x'.repeat(300)]) socket.write(textFrame(m, true));
    await received;
    assert.deepEqual(frames, [
      'web-v1 echo: one',
      'web-v1 echo: two',
      `web-v1 echo: ${'x'.repeat(300)}`,
    ]);
    socket.destroy();
  });

  test('CONNECT to a TCP port: the server speaks first, bytes flow both ways', async () => {
    const { socket, status } = await connectTunnel(outbound, 'tcp-echo:9000');
    assert.equal(status, 200);
    // Nothing sent yet: the greeting must come on its own (no protocol sniffing on TCP ports).
    const greeting = await readUntil(socket, (t) => t.includes('\n'));
    assert.match(greeting, /^hello from tcp-v[12]\n$/);
    socket.write('ping\n');
    const echo = await readUntil(socket, (t) => t.includes('\n'));
    assert.match(echo, /^tcp-v[12]: ping\n$/);
    socket.end();
  });

  test('VirtualService tcp[]: a 75/25 split over 400 tunnels (±8%)', async () => {
    const counts: Record<string, number> = {};
    const total = 400;
    let opened = 0;
    const worker = async () => {
      while (opened < total) {
        opened++;
        const { socket } = await connectTunnel(outbound, 'tcp-echo:9000');
        const greeting = await readUntil(socket, (t) => t.includes('\n'));
        socket.destroy();
        const who = greeting.trim().replace('hello from ', '');
        counts[who] = (counts[who] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const share = (counts['tcp-v1'] ?? 0) / total;
    assert.ok(Math.abs(share - 0.75) <= 0.08, `v1 got ${share} (${JSON.stringify(counts)})`);
    assert.equal((counts['tcp-v1'] ?? 0) + (counts['tcp-v2'] ?? 0), total);
  });

  test('CONNECT to an HTTP port: the tunnel is routed as HTTP (CONNECT authority as default)', async () => {
    const { socket, status } = await connectTunnel(outbound, 'web:8080');
    assert.equal(status, 200);
    // Inside the tunnel, plain HTTP/1.1: the VirtualService's header match picks v2.
    socket.write('GET /inside HTTP/1.1\r\nhost: web:8080\r\nx-pick: v2\r\n\r\n');
    const first = await readUntil(socket, (t) => t.includes('host=web:8080'));
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.match(first, /web-v2 GET \/inside host=web:8080$/);
    // HTTP/1.0 without Host: the CONNECT's authority routes it.
    socket.write('GET /no-host HTTP/1.0\r\n\r\n');
    const second = await readUntil(socket, (t) => t.includes('host=web:8080'));
    assert.match(second, /web-v1 GET \/no-host host=web:8080/);
    socket.destroy();
  });

  test('CONNECT to an unknown host passes through (ALLOW_ANY)', async () => {
    const server = net.createServer((s) => s.end('outside\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const { socket, status } = await connectTunnel(outbound, `127.0.0.1:${port}`);
      assert.equal(status, 200);
      assert.equal(await readUntil(socket, () => false), 'outside\n');
    } finally {
      server.close();
    }
  });

  /** TLS through a socket (a tunnel or the gateway), with the given SNI: what the server says. */
  function tlsHello(socket: net.Socket, servername: string): Promise<string> {
    const t = tls.connect({ socket, servername, rejectUnauthorized: false });
    return readUntil(t as unknown as net.Socket, (s) => s.includes('\n'));
  }

  test('VirtualService tls[] in a sidecar: SNI routing with weights, through CONNECT', async (t) => {
    if (!haveTls) return t.skip('openssl is not available to make a certificate');
    for (let i = 0; i < 5; i++) {
      const { socket } = await connectTunnel(outbound, 'a.example.com:8443');
      assert.equal(await tlsHello(socket, 'a.example.com'), 'tls-a a.example.com\n');
    }
    const seen = new Set<string>();
    await eventually('both destinations of the 50/50 SNI route answer', async () => {
      const { socket } = await connectTunnel(outbound, 'b.example.com:8443');
      seen.add((await tlsHello(socket, 'b.example.com')).split(' ')[0] ?? '');
      return seen.has('tls-a') && seen.has('tls-b');
    });
  });

  test('Gateway TLS PASSTHROUGH: routed by SNI, TLS ends at the app', async (t) => {
    if (!haveTls) return t.skip('openssl is not available to make a certificate');
    const port = mesh.record.gateway.ports.find((p) => p.port === 8443)?.hostPort;
    assert.ok(port, 'the gateway serves 8443');
    const hello = (sni: string) => tlsHello(net.connect(port, '127.0.0.1'), sni);
    await eventually(
      'the gateway routes a.example.com',
      async () => (await hello('a.example.com')) === 'tls-a a.example.com\n',
    );
    const seen = new Set<string>();
    await eventually('both destinations of the 50/50 SNI route answer', async () => {
      seen.add((await hello('b.example.com')).split(' ')[0] ?? '');
      return seen.has('tls-a') && seen.has('tls-b');
    });
  });

  test('Gateway TCP server: tcp[] route to a subset, server-first', async () => {
    const port = mesh.record.gateway.ports.find((p) => p.port === TCP_GATEWAY_PORT)?.hostPort;
    assert.ok(port, `the gateway serves ${TCP_GATEWAY_PORT}`);
    const socket = net.connect(port, '127.0.0.1');
    assert.equal(await readUntil(socket, (t) => t.includes('\n')), 'hello from tcp-v2\n');
    socket.write('over the gateway\n');
    assert.equal(await readUntil(socket, (t) => t.includes('\n')), 'tcp-v2: over the gateway\n');
    socket.destroy();
  });
});
