// Protocols end to end through real sidecars: gRPC (h2c prior knowledge on the outbound listener,
// and through a CONNECT tunnel as grpc-js does with http_proxy) with metadata, trailers,
// streaming and statuses; gRPC local replies; HTTP/2 to an HTTP/1.1 service; WebSocket through
// both sidecars; CONNECT tunnels to TCP ports with VirtualService tcp[] weights and a server that
// speaks first; tunnels to HTTP ports routed as HTTP; VirtualService tls[] by SNI; the
// gateway's TCP and TLS PASSTHROUGH servers; and tcp[]/tls[] destinationSubnets.
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
import {
  ECHO_PROTO,
  GRPC_SERVER,
  H2C_APP,
  MULTI_TCP,
  TCP_ECHO,
  TLS_ECHO,
  WEB_APP,
} from './support/protocol-apps.js';
import { IDLE_APP, SKIFF, closeAgent, eventually, tempTree, viaProxy } from './support/skiff.js';
import { acceptKey, newKey, readFrames, textFrame } from './support/ws.js';

const TCP_GATEWAY_PORT = 31400;
const TIMEOUTS_GATEWAY_PORT = 31401;
const DB_PORTS =
  '{ name: mongo, containerPort: 27017 }, { name: mysql, containerPort: 3306 }, ' +
  '{ name: redis, containerPort: 6379 }, { name: tcp-a, containerPort: 7001 }, ' +
  '{ name: tcp-b, containerPort: 7002 }, { name: tcp-raw, containerPort: 7003 }';

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
  workload('client-special', 'app: client, role: special', 'idle.mjs', ''),
  `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: client-other, namespace: other, labels: { app: client } }
spec:
  command: [node, idle.mjs]
`,
  // Protocol selection by port name prefix (mongo, mysql-*, redis, tcp-*) and by appProtocol,
  // which overrides the name (http-raw is TCP); tcp[] match.port, sourceLabels, sourceNamespace.
  workload('db-v1', 'app: db, version: v1', 'multi-tcp.mjs', DB_PORTS),
  workload('db-v2', 'app: db, version: v2', 'multi-tcp.mjs', DB_PORTS),
  service(
    'db',
    'app: db',
    '{ name: mongo, port: 27017 }, { name: mysql-main, port: 3306 }, { name: redis, port: 6379 }, ' +
      '{ name: tcp-a, port: 7001 }, { name: tcp-b, port: 7002 }, ' +
      '{ name: http-raw, port: 7003, targetPort: 7003, appProtocol: tcp }',
  ),
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: db }
spec:
  host: db
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db }
spec:
  hosts: [db]
  tcp:
    - match: [{ port: 7002 }]
      route: [{ destination: { host: db, subset: v2 } }]
    - match: [{ port: 7001 }]
      route: [{ destination: { host: db, subset: v1 } }]
    - match: [{ port: 6379, sourceLabels: { role: special } }, { port: 6379, sourceNamespace: other }]
      route: [{ destination: { host: db, subset: v2 } }]
    - match: [{ port: 6379 }]
      route: [{ destination: { host: db, subset: v1 } }]
`,
  // http2-* and its appProtocol twin: HTTP/2 to an app that speaks nothing else.
  workload('h2web', 'app: h2web', 'h2c.mjs', '{ name: http2, containerPort: 8090 }'),
  service(
    'h2web',
    'app: h2web',
    '{ name: http2-web, port: 8090 }, { name: tcp-h2, port: 8091, targetPort: 8090, appProtocol: http2 }',
  ),
  // appProtocol http on a port whose name says tcp: routed as HTTP.
  service(
    'web-ap',
    'app: web',
    '{ name: tcp-web, port: 8081, targetPort: 8080, appProtocol: http }',
  ),
  // DestinationRule connection settings on a TCP port (the gateway's tcp_proxy).
  service('tcp-timeouts', 'app: tcp-echo', '{ name: tcp, port: 9000 }'),
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-timeouts }
spec:
  host: tcp-timeouts
  trafficPolicy:
    connectionPool:
      tcp: { idleTimeout: 500ms, maxConnectionDuration: 2s, tcpKeepalive: { time: 25s } }
`,
  `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: timeouts-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: ${TIMEOUTS_GATEWAY_PORT}, name: tcp-t, protocol: TCP }
      hosts: ['*']
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: timeouts-gateway }
spec:
  hosts: ['*']
  gateways: [timeouts-gateway]
  tcp:
    - route: [{ destination: { host: tcp-timeouts, port: { number: 9000 } } }]
`,
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
  service(
    'tls-a',
    'app: tls-a',
    '{ name: tls, port: 8443 }, { name: https, port: 9443, targetPort: 8443 }',
  ),
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

/** Reads exactly `n` bytes (then stops listening). */
function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${got.length} of ${n} bytes in 10 s`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < n) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (got.length > n) socket.unshift(got.subarray(n));
      resolve(got.subarray(0, n));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Resolves with the milliseconds until the peer closes the socket. */
function closedAfter(socket: net.Socket, since: number): Promise<number> {
  return new Promise((resolve) => {
    socket.resume();
    // Closed while we still write (the busy case), the peer may reset: a reset is a close too.
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(performance.now() - since));
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
      'multi-tcp.mjs': MULTI_TCP,
      'h2c.mjs': H2C_APP,
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

  function outboundOf(workloadName: string): number {
    const i = mesh.record.instances.find((x) => x.workloadName === workloadName);
    assert.ok(i, workloadName);
    return i.outboundPort;
  }

  /** A CONNECT tunnel through `proxyPort`: the server's greeting line. */
  async function greeting(proxyPort: number, authority: string): Promise<string> {
    const { socket, status } = await connectTunnel(proxyPort, authority);
    assert.equal(status, 200, `CONNECT ${authority}`);
    const line = await readUntil(socket, (t) => t.includes('\n'));
    socket.destroy();
    return line;
  }

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
    // b.example.com: a 50/50 split, measured over 160 connections (±12%).
    const counts: Record<string, number> = {};
    const total = 160;
    let opened = 0;
    const worker = async () => {
      while (opened < total) {
        opened++;
        const { socket } = await connectTunnel(outbound, 'b.example.com:8443');
        const who = (await tlsHello(socket, 'b.example.com')).split(' ')[0] ?? '';
        counts[who] = (counts[who] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal((counts['tls-a'] ?? 0) + (counts['tls-b'] ?? 0), total, JSON.stringify(counts));
    const share = (counts['tls-a'] ?? 0) / total;
    assert.ok(Math.abs(share - 0.5) <= 0.12, `tls-a got ${share} (${JSON.stringify(counts)})`);
  });

  test('https and tls port names: TLS passthrough by SNI to the service, TLS ends at the app', async (t) => {
    if (!haveTls) return t.skip('openssl is not available to make a certificate');
    const https = await connectTunnel(outbound, 'tls-a:9443');
    assert.equal(
      await tlsHello(https.socket, 'tls-a.default.svc.cluster.local'),
      'tls-a tls-a.default.svc.cluster.local\n',
    );
    const plain = await connectTunnel(outbound, 'tls-b:8443');
    assert.equal(
      await tlsHello(plain.socket, 'tls-b.default.svc.cluster.local'),
      'tls-b tls-b.default.svc.cluster.local\n',
    );
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

  test('mongo, mysql-*, redis and appProtocol tcp (over an http-* name): TCP, server first, byte-exact', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const [port, name] of [
      [27017, 'mongo'],
      [3306, 'mysql'],
      [6379, 'redis'],
      [7003, 'tcp-raw'],
    ] as const) {
      const { socket, status } = await connectTunnel(outbound, `db:${port}`);
      assert.equal(status, 200);
      // Nothing sent yet: the server's greeting comes on its own (no HTTP sniffing).
      const hello = (await readBytes(socket, `db-v1 ${name}\n`.length)).toString('latin1');
      assert.match(hello, new RegExp(`^db-v[12] ${name}\n$`), `port ${port}`);
      socket.write(every);
      socket.write(every);
      assert.deepEqual(await readBytes(socket, 512), Buffer.concat([every, every]), `port ${port}`);
      socket.destroy();
    }
  });

  test('tcp[] match.port: of a service’s two TCP ports, each gets only its own rule', async () => {
    for (let i = 0; i < 8; i++) {
      assert.equal(await greeting(outbound, 'db:7001'), 'db-v1 tcp-a\n');
      assert.equal(await greeting(outbound, 'db:7002'), 'db-v2 tcp-b\n');
    }
  });

  test('tcp[] match.sourceLabels and sourceNamespace: the rule applies only to those proxies', async () => {
    const special = outboundOf('client-special');
    const other = outboundOf('client-other');
    for (let i = 0; i < 6; i++) {
      assert.equal(await greeting(outbound, 'db:6379'), 'db-v1 redis\n', 'app: client');
      assert.equal(await greeting(special, 'db:6379'), 'db-v2 redis\n', 'role: special');
      assert.equal(await greeting(other, 'db.default:6379'), 'db-v2 redis\n', 'namespace other');
    }
  });

  test('http2-* and appProtocol http2: HTTP/2 to the app; appProtocol http over a tcp-* name: HTTP', async () => {
    // The app speaks only HTTP/2 (prior knowledge): an HTTP/1.1 upstream would fail.
    assert.equal((await viaProxy(outbound, 'http://h2web:8090/a')).body, 'h2web GET /a http/2.0');
    assert.equal((await viaProxy(outbound, 'http://h2web:8091/b')).body, 'h2web GET /b http/2.0');
    // An HTTP request to a TCP port finds no HTTP route (404); appProtocol http makes it HTTP.
    const r = await viaProxy(outbound, 'http://web-ap:8081/ap');
    assert.equal(r.status, 200);
    assert.match(r.body, /^web-v[12] GET \/ap host=web-ap:8081$/);
  });

  test('DestinationRule tcp idleTimeout, maxConnectionDuration, tcpKeepalive on a TCP port (tcp_proxy)', async () => {
    const port = mesh.record.gateway.ports.find((p) => p.port === TIMEOUTS_GATEWAY_PORT)?.hostPort;
    assert.ok(port, `the gateway serves ${TIMEOUTS_GATEWAY_PORT}`);
    // The tcp_proxy Istio generates carries both timeouts.
    const dump = await (
      await fetch(`http://127.0.0.1:${mesh.record.gateway.adminPort}/config_dump`)
    ).text();
    assert.match(dump, /"idle_timeout":\s*"0\.5s"/);
    assert.match(dump, /"max_downstream_connection_duration":\s*"2s"/);
    assert.match(dump, /"tcp_keepalive":\s*\{\s*"keepalive_time":\s*25/);
    // A silent connection is closed once idle for 500 ms.
    const idle = net.connect(port, '127.0.0.1');
    const start = performance.now();
    assert.match(await readUntil(idle, (t) => t.includes('\n')), /^hello from tcp-v[12]\n$/);
    // While it is open, the upstream socket has SO_KEEPALIVE with the 25 s idle time.
    const upstreamPorts = mesh.record.instances
      .filter((i) => i.workloadName === 'tcp-v1' || i.workloadName === 'tcp-v2')
      .flatMap((i) => i.ports.map((p) => p.listenPort));
    const keepalive = upstreamPorts
      .map((p) =>
        execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${p} )`], {
          encoding: 'utf8',
        }),
      )
      .join('');
    const timer = /timer:\(keepalive,(\d+)(?:\.\d+)?(sec|ms)/.exec(keepalive);
    assert.ok(timer, `a keepalive timer on the upstream socket: ${keepalive}`);
    const idleMs = await closedAfter(idle, start);
    assert.ok(idleMs >= 450 && idleMs < 8000, `closed after ${idleMs} ms`);
    // A busy connection is not idle, but is closed at 2 s all the same.
    const busy = net.connect(port, '127.0.0.1');
    const t0 = performance.now();
    const ticker = setInterval(() => busy.write('tick\n'), 100);
    const busyMs = await closedAfter(busy, t0);
    clearInterval(ticker);
    assert.ok(busyMs >= 1900 && busyMs < 10_000, `closed after ${busyMs} ms`);
  });
});

// VirtualService destinationSubnets: the address a CONNECT names is the destination IP, matched
// against the subnets (a name's is its service's VIP, or none). Address ranges of ServiceEntries
// (IPv4 and IPv6) as in Istio's examples; the addresses need no socket: the sidecar routes them.
const SUBNETS_MESH = [
  workload('client', 'app: client', 'idle.mjs', ''),
  workload('l4-v1', 'app: l4, version: v1', 'tcp.mjs', '{ name: tcp, containerPort: 9100 }'),
  workload('l4-v2', 'app: l4, version: v2', 'tcp.mjs', '{ name: tcp, containerPort: 9100 }'),
  workload('tls-a', 'app: tls-a', 'tls.mjs', '{ name: tls, containerPort: 9443 }'),
  workload('tls-b', 'app: tls-b', 'tls.mjs', '{ name: tls, containerPort: 9443 }'),
  service('l4-near', 'app: l4, version: v2', '{ name: tcp, port: 9100 }'),
  service('tls-near', 'app: tls-b', '{ name: tls, port: 9443 }'),
  `
apiVersion: v1
kind: Service
metadata: { name: l4-vip }
spec:
  clusterIP: 127.77.1.9
  selector: { app: l4, version: v1 }
  ports: [{ name: tcp, port: 9100 }]
`,
  `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db-range }
spec:
  hosts: [db.range.internal]
  addresses: [127.77.0.0/16, 'fd00:77::/40']
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: { labels: { app: l4, version: v1 } }
  ports: [{ number: 9100, name: tcp, protocol: TCP }]
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db-range }
spec:
  hosts: [db.range.internal, l4-vip]
  tcp:
    - match: [{ destinationSubnets: [127.77.1.0/24, 'fd00:77:1::/48'] }]
      route: [{ destination: { host: l4-near } }]
`,
  `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tls-range }
spec:
  hosts: [tls.range.internal]
  addresses: [127.78.0.0/16]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: { labels: { app: tls-a } }
  ports: [{ number: 9443, name: tls, protocol: TLS }]
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tls-range }
spec:
  hosts: [tls.range.internal]
  tls:
    - match: [{ sniHosts: [tls.range.internal], destinationSubnets: [127.78.1.0/24] }]
      route: [{ destination: { host: tls-near } }]
    - match: [{ sniHosts: [tls.range.internal] }]
      route: [{ destination: { host: tls.range.internal } }]
`,
].join('---');

describe('VirtualService destinationSubnets through CONNECT', { timeout: 180_000 }, () => {
  let mesh: Mesh;
  let outbound: number;
  let haveTls: boolean;

  before(async () => {
    const dir = tempTree('skiff-subnets-', {
      'mesh.yaml': SUBNETS_MESH,
      'tcp.mjs': TCP_ECHO,
      'tls.mjs': TLS_ECHO,
      'idle.mjs': IDLE_APP,
    });
    haveTls = makeCertificate(dir);
    if (!haveTls) writeFileSync(path.join(dir, 'tls.mjs'), TCP_ECHO);
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
    await mesh?.stop();
  });

  async function greeting(authority: string): Promise<string> {
    const { socket, status } = await connectTunnel(outbound, authority);
    assert.equal(status, 200, `CONNECT ${authority}`);
    const line = await readUntil(socket, (t) => t.includes('\n'));
    socket.destroy();
    return line;
  }

  test('tcp[]: an address in the subnet → the rule, outside → the default (IPv4, IPv6, VIP)', async () => {
    const expectations: [string, string][] = [
      ['127.77.1.5:9100', 'l4-v2'],
      ['[fd00:77:1::5]:9100', 'l4-v2'],
      ['127.77.2.5:9100', 'l4-v1'],
      ['[fd00:77:2::5]:9100', 'l4-v1'],
      // A name without a VIP has no address: no subnet holds, the ServiceEntry's endpoints.
      ['db.range.internal:9100', 'l4-v1'],
      // A name with a VIP (127.77.1.9, in the subnet) is its VIP, by name or by address.
      ['l4-vip:9100', 'l4-v2'],
      ['127.77.1.9:9100', 'l4-v2'],
    ];
    for (let round = 0; round < 3; round++)
      for (const [authority, who] of expectations)
        assert.equal(await greeting(authority), `hello from ${who}\n`, authority);
  });

  test('tls[]: SNI and an address in the subnet → the rule, outside → the default', async (t) => {
    if (!haveTls) return t.skip('openssl is not available to make a certificate');
    const hello = async (authority: string) => {
      const { socket, status } = await connectTunnel(outbound, authority);
      assert.equal(status, 200, `CONNECT ${authority}`);
      const s = tls.connect({
        socket,
        servername: 'tls.range.internal',
        rejectUnauthorized: false,
      });
      const answer = await readUntil(s as unknown as net.Socket, (x) => x.includes('\n'));
      s.destroy();
      return answer;
    };
    for (let round = 0; round < 3; round++) {
      assert.equal(await hello('127.78.1.5:9443'), 'tls-b tls.range.internal\n');
      assert.equal(await hello('127.78.2.5:9443'), 'tls-a tls.range.internal\n');
      assert.equal(await hello('tls.range.internal:9443'), 'tls-a tls.range.internal\n');
    }
  });
});
