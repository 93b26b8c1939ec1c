// TLS end to end through real proxies: the ingress gateway terminates TLS (Gateway SIMPLE and
// MUTUAL servers, certificates by SDS from Kubernetes Secrets named by credentialName) and
// serves HTTP/2 or HTTP/1.1 by ALPN, gRPC over TLS, picks the server and certificate by SNI,
// enforces minProtocolVersion, refuses clients without a certificate under MUTUAL, redirects
// httpsRedirect servers, and survives garbage; DestinationRule tls SIMPLE originates TLS to an
// HTTPS workload (CA from caCertificates, subjectAltNames checked, h2 by ALPN on gRPC ports).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ECHO_PROTO, GRPC_SERVER } from './support/protocol-apps.js';
import { SKIFF, closeAgent, eventually } from './support/skiff.js';
import type { Pem } from './support/tls.js';
import { HTTPS_APP, HTTP_APP, makeCa, makeLeaf, tlsSecret } from './support/tls.js';

const HTTP_PORT = 8080;
const HTTPS_PORT = 30443;
const MTLS_PORT = 30444;

function meshYaml(dir: string, certs: Record<string, Pem>, ca: Pem): string {
  const workload = (name: string, labels: string, command: string, ports: string, env = '') => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  command: [node, ${command}]
  env: { VERSION: ${name}${env} }
  ports: [${ports}]
`;
  const service = (name: string, selector: string, ports: string) => `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { ${selector} }
  ports: [${ports}]
`;
  const vs = (name: string, host: string, dest: string, port: number) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: [${host}]
  gateways: [edge]
  http: [{ route: [{ destination: { host: ${dest}, port: { number: ${port} } } }] }]
`;
  const dr = (name: string, host: string, sans: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name} }
spec:
  host: ${host}
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: ${path.join(dir, 'upstream-ca.crt')}
      subjectAltNames: [${sans}]
      sni: ${host}
`;
  return [
    workload('web', 'app: web', 'http.mjs', '{ name: http, containerPort: 8080 }'),
    service('web', 'app: web', '{ name: http, port: 8080 }'),
    workload('grpc', 'app: grpc', 'grpc.mjs', '{ name: grpc, containerPort: 50051 }'),
    service('grpc', 'app: grpc', '{ name: grpc, port: 50051 }'),
    // The workload port's own name (tls-*) makes its inbound listener pass TLS through.
    workload(
      'secure-v1',
      'app: secure',
      'https.mjs',
      '{ name: tls-web, containerPort: 8443 }',
      ', CERT: secure',
    ),
    service('secure', 'app: secure', '{ name: https, port: 8443 }'),
    service('secure-wrong', 'app: secure', '{ name: https, port: 8443 }'),
    workload(
      'secure-h2',
      'app: secure-h2',
      'https.mjs',
      '{ name: tls-h2, containerPort: 9443 }',
      ', CERT: secure',
    ),
    service('secure-h2', 'app: secure-h2', '{ name: grpc, port: 9443 }'),
    dr('secure', 'secure.default.svc.cluster.local', 'secure.default.svc.cluster.local'),
    dr('secure-h2', 'secure-h2.default.svc.cluster.local', 'secure-h2.default.svc.cluster.local'),
    dr('secure-wrong', 'secure-wrong.default.svc.cluster.local', 'someone-else.example.com'),
    tlsSecret('a-cert', 'istio-system', certs['a'] as Pem),
    tlsSecret('b-cert', 'istio-system', certs['b'] as Pem),
    tlsSecret('m-cert', 'istio-system', certs['m'] as Pem, ca),
    `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: ${HTTP_PORT}, name: http-redirect, protocol: HTTP }
      hosts: [redirect.example.com]
      tls: { httpsRedirect: true }
    - port: { number: ${HTTP_PORT}, name: http, protocol: HTTP }
      hosts: [plain.example.com, secure.example.com, wrong.example.com, h2.example.com]
    - port: { number: ${HTTPS_PORT}, name: https, protocol: HTTPS }
      hosts: [a.example.com, grpc.example.com]
      tls: { mode: SIMPLE, credentialName: a-cert }
    - port: { number: ${HTTPS_PORT}, name: https-b, protocol: HTTPS }
      hosts: [b.example.com]
      tls: { mode: SIMPLE, credentialName: b-cert, minProtocolVersion: TLSV1_3 }
    - port: { number: ${MTLS_PORT}, name: https-mtls, protocol: HTTPS }
      hosts: ['*']
      tls: { mode: MUTUAL, credentialName: m-cert }
`,
    vs(
      'web',
      '"a.example.com", "b.example.com", "mtls.example.com", "redirect.example.com", "plain.example.com"',
      'web',
      8080,
    ),
    vs('grpc', 'grpc.example.com', 'grpc', 50051),
    vs('secure', 'secure.example.com', 'secure', 8443),
    vs('secure-wrong', 'wrong.example.com', 'secure-wrong', 8443),
    vs('secure-h2', 'h2.example.com', 'secure-h2', 9443),
  ]
    .map((d) => d.trim())
    .join('\n---\n');
}

interface Answer {
  status: number;
  body: string;
  alpn: string | false | null;
  httpVersion: string;
  peerCn: string;
}

describe('TLS through the gateway and to upstreams', { timeout: 180_000 }, () => {
  let mesh: Mesh;
  let dir: string;
  let ca: Pem;
  let client: Pem;
  const certs: Record<string, Pem> = {};
  let port = (_p: number): number => 0;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-tls-'));
    ca = makeCa(dir, 'ca');
    const upstreamCa = makeCa(dir, 'upstream-ca');
    certs['a'] = makeLeaf(dir, 'a', ca, ['DNS:a.example.com', 'DNS:grpc.example.com']);
    certs['b'] = makeLeaf(dir, 'b', ca, ['DNS:b.example.com']);
    certs['m'] = makeLeaf(dir, 'm', ca, ['DNS:mtls.example.com']);
    client = makeLeaf(dir, 'client', ca, ['URI:spiffe://test/client']);
    makeLeaf(dir, 'secure', upstreamCa, [
      'DNS:secure.default.svc.cluster.local',
      'DNS:secure-h2.default.svc.cluster.local',
      'DNS:secure-wrong.default.svc.cluster.local',
    ]);
    writeFileSync(path.join(dir, 'mesh.yaml'), meshYaml(dir, certs, ca));
    writeFileSync(path.join(dir, 'http.mjs'), HTTP_APP);
    writeFileSync(path.join(dir, 'https.mjs'), HTTPS_APP);
    writeFileSync(path.join(dir, 'grpc.mjs'), GRPC_SERVER);
    writeFileSync(path.join(dir, 'echo.proto'), ECHO_PROTO);
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
    });
    port = (p: number) => {
      const hostPort = mesh.record.gateway.ports.find((x) => x.port === p)?.hostPort;
      assert.ok(hostPort, `the gateway serves ${p}`);
      return hostPort;
    };
    // Every server answers (the gateway has its secrets and routes).
    await eventually('the HTTPS server answers', async () => {
      const r = await h1('a.example.com', '/ready');
      return r.status === 200;
    });
  });

  after(async () => {
    closeAgent();
    await mesh?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Plain HTTP to the gateway's HTTP port. */
  function get(
    host: string,
    reqPath: string,
  ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port: port(HTTP_PORT),
          path: reqPath,
          headers: { host },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${host} in 10 s`)));
    });
  }

  /** HTTP/1.1 over TLS (ALPN http/1.1) to the gateway's HTTPS port. */
  function h1(
    sni: string,
    reqPath: string,
    opts: tls.ConnectionOptions & { port?: number } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: opts.port ?? port(HTTPS_PORT),
          path: reqPath,
          servername: sni,
          headers: { host: sni },
          ca: ca.cert,
          ALPNProtocols: ['http/1.1'],
          agent: false,
          ...opts,
        },
        (res) => {
          const socket = res.socket as tls.TLSSocket;
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body,
              alpn: socket.alpnProtocol,
              httpVersion: res.httpVersion,
              peerCn: String(socket.getPeerCertificate().subject?.CN ?? ''),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** HTTP/2 over TLS (ALPN h2). */
  async function h2(sni: string, reqPath: string): Promise<Answer> {
    const session = http2.connect(`https://127.0.0.1:${port(HTTPS_PORT)}`, {
      servername: sni,
      ca: ca.cert,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
      });
      const stream = session.request({ ':path': reqPath, ':authority': sni });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      await new Promise((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const socket = session.socket as tls.TLSSocket;
      return {
        status,
        body,
        alpn: session.alpnProtocol ?? null,
        httpVersion: '2.0',
        peerCn: String(socket.getPeerCertificate().subject?.CN ?? ''),
      };
    } finally {
      session.close();
    }
  }

  /** A TLS handshake's outcome: the error code, or 'ok'. */
  function handshake(p: number, opts: tls.ConnectionOptions): Promise<string> {
    return new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: p, ca: ca.cert, ...opts });
      s.once('secureConnect', () => {
        // TLS 1.3 servers reject a missing client certificate after the client's Finished:
        // the refusal shows as the connection closing before any reply.
        s.write('GET / HTTP/1.1\r\nhost: mtls.example.com\r\n\r\n');
      });
      s.once('data', () => {
        s.destroy();
        resolve('ok');
      });
      s.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      s.once('close', () => resolve('closed'));
    });
  }

  test('an HTTPS client offering h2 gets HTTP/2 by ALPN', { timeout: 20_000 }, async () => {
    const r = await h2('a.example.com', '/via-h2');
    assert.equal(r.alpn, 'h2');
    assert.equal(r.status, 200);
    assert.match(r.body, /^web 1\.1 \/via-h2 host=a\.example\.com proto=https$/);
  });

  test('an HTTPS client offering http/1.1 gets HTTP/1.1', { timeout: 20_000 }, async () => {
    const r = await h1('a.example.com', '/via-h1');
    assert.equal(r.alpn, 'http/1.1');
    assert.equal(r.httpVersion, '1.1');
    assert.equal(r.status, 200);
    // Over TLS the scheme is https, for HTTP/1.1 too (it has no :scheme).
    assert.match(r.body, /^web 1\.1 \/via-h1 host=a\.example\.com proto=https$/);
  });

  test('gRPC over TLS through the gateway', { timeout: 20_000 }, async () => {
    const def = loader.loadSync(path.join(dir, 'echo.proto'), { keepCase: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      skiff: { test: { Echo: grpc.ServiceClientConstructor } };
    };
    const c = new pkg.skiff.test.Echo(
      `127.0.0.1:${port(HTTPS_PORT)}`,
      grpc.credentials.createSsl(Buffer.from(ca.cert)),
      {
        'grpc.ssl_target_name_override': 'grpc.example.com',
        'grpc.default_authority': 'grpc.example.com',
      },
    );
    try {
      const reply = await new Promise<{ message: string; version: string }>((resolve, reject) =>
        (
          c as unknown as {
            Unary(
              r: object,
              cb: (e: Error | null, v: { message: string; version: string }) => void,
            ): void;
          }
        ).Unary({ message: 'over tls' }, (e, v) => (e ? reject(e) : resolve(v))),
      );
      assert.deepEqual(reply, { message: 'over tls', version: 'grpc' });
    } finally {
      c.close();
    }
  });

  test('SNI picks the server and its certificate', { timeout: 20_000 }, async () => {
    assert.equal((await h1('a.example.com', '/')).peerCn, 'a');
    const b = await h1('b.example.com', '/sni-b');
    assert.equal(b.peerCn, 'b');
    assert.match(b.body, /^web 1\.1 \/sni-b host=b\.example\.com/);
    // No server takes this name: no filter chain, the connection is closed.
    await assert.rejects(h1('nobody.example.com', '/'));
  });

  test('HTTPS route configs carry Istio’s names', { timeout: 20_000 }, async () => {
    const dump = (await (
      await fetch(`http://127.0.0.1:${mesh.record.gateway.adminPort}/config_dump`)
    ).json()) as { configs: Record<string, unknown>[] };
    const text = JSON.stringify(dump);
    assert.ok(text.includes(`https.${HTTPS_PORT}.https.edge.default`), 'https route config');
    assert.ok(text.includes(`https.${HTTPS_PORT}.https-b.edge.default`), 'https-b route config');
  });

  test('minProtocolVersion TLSV1_3 refuses a TLS 1.2 client', { timeout: 20_000 }, async () => {
    const refused = await handshake(port(HTTPS_PORT), {
      servername: 'b.example.com',
      maxVersion: 'TLSv1.2',
    });
    assert.notEqual(refused, 'ok');
    // The other server on the port still takes TLS 1.2.
    assert.equal((await h1('a.example.com', '/', { maxVersion: 'TLSv1.2' })).status, 200);
  });

  test(
    'MUTUAL refuses a client without a certificate and serves one with it',
    { timeout: 20_000 },
    async () => {
      const refused = await handshake(port(MTLS_PORT), { servername: 'mtls.example.com' });
      assert.notEqual(refused, 'ok');
      const r = await h1('mtls.example.com', '/mtls', {
        port: port(MTLS_PORT),
        cert: client.cert,
        key: client.key,
      });
      assert.equal(r.status, 200);
      assert.match(r.body, /^web 1\.1 \/mtls/);
    },
  );

  test('httpsRedirect answers 301 to https', { timeout: 20_000 }, async () => {
    const r = await get('redirect.example.com', '/some/path');
    assert.equal(r.status, 301);
    assert.match(String(r.headers['location']), /^https:\/\/redirect\.example\.com.*\/some\/path$/);
    // The other server on the port is plain HTTP.
    const plain = await get('plain.example.com', '/p');
    assert.equal(plain.status, 200);
  });

  test(
    'garbage on the TLS port closes the connection; the gateway carries on',
    { timeout: 20_000 },
    async () => {
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect(port(HTTPS_PORT), '127.0.0.1', () => {
          // A TLS record header (handshake, TLS 1.0) with a nonsense body.
          s.write(
            Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), Buffer.alloc(64, 0xab)]),
          );
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
        s.resume();
      });
      assert.ok(closed);
      const notTls = await new Promise<boolean>((resolve) => {
        const s = net.connect(port(HTTPS_PORT), '127.0.0.1', () =>
          s.write('GET / HTTP/1.1\r\n\r\n'),
        );
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
        s.resume();
      });
      assert.ok(notTls);
      assert.equal((await h1('a.example.com', '/after-garbage')).status, 200);
    },
  );

  test(
    'DestinationRule tls SIMPLE: the request reaches the HTTPS workload over TLS',
    { timeout: 20_000 },
    async () => {
      const r = await get('secure.example.com', '/');
      assert.equal(r.status, 200, r.body);
      assert.match(
        r.body,
        /^secure-v1 http=1\.1 alpn=.* sni=secure\.default\.svc\.cluster\.local$/,
      );
    },
  );

  test(
    'DestinationRule tls SIMPLE: a wrong subject alt name is refused (UF, TLS error)',
    { timeout: 20_000 },
    async () => {
      const r = await get('wrong.example.com', '/');
      assert.equal(r.status, 503);
      assert.match(r.body, /connection failure, transport failure reason: TLS_error/);
    },
  );

  test(
    'DestinationRule tls SIMPLE to a gRPC port negotiates h2 by ALPN',
    { timeout: 20_000 },
    async () => {
      const r = await get('h2.example.com', '/');
      assert.equal(r.status, 200, r.body);
      assert.match(
        r.body,
        /^secure-h2 http=2\.0 alpn=h2 sni=secure-h2\.default\.svc\.cluster\.local$/,
      );
    },
  );
});
