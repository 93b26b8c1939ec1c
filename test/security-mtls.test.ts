// Mesh mTLS end to end through `skiff up` (every proxy holds a CA-signed SPIFFE identity): auto
// mTLS between sidecars (the server sees the client's identity in x-forwarded-client-cert) and
// plaintext to an endpoint without a sidecar; PeerAuthentication STRICT (plaintext and foreign
// roots refused at the inbound port), PERMISSIVE (both on one port), DISABLE, precedence
// mesh < namespace < workload < port; DestinationRule ISTIO_MUTUAL, DISABLE and credentialName;
// a Gateway ISTIO_MUTUAL server; Istio's metrics labels for mTLS.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { IDLE_APP, SKIFF, closeAgent, eventually, tempTree, viaProxy } from './support/skiff.js';
import type { Pem } from './support/tls.js';
import { makeCa, makeLeaf, tlsSecret } from './support/tls.js';

/** HTTP on PORT_HTTP: answers the XFCC header it got; TCP on PORT_TCP: echoes `ok:<data>`. */
const WEB_APP = `
import http from 'node:http';
import net from 'node:net';
const h = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ xfcc: req.headers['x-forwarded-client-cert'] ?? '' }));
});
h.listen(Number(process.env.PORT_HTTP), '127.0.0.1');
const t = net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', (d) => s.end('ok:' + d.toString()));
});
t.listen(Number(process.env.PORT_TCP), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** HTTPS requiring a client certificate from ca.crt: answers "cn=<client CN>". */
const MTLS_APP = `
import https from 'node:https';
import { readFileSync } from 'node:fs';
const s = https.createServer({
  cert: readFileSync('server.crt'), key: readFileSync('server.key'), ca: readFileSync('ca.crt'),
  requestCert: true, rejectUnauthorized: true,
}, (req, res) => res.end('cn=' + req.socket.getPeerCertificate().subject.CN));
s.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const workload = (name: string, sa: string, command: string, ports: string) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, labels: { app: ${name} } }
spec:
  serviceAccount: ${sa}
  command: [node, ${command}]
  ports: [${ports}]
`;

function meshYaml(plainPort: number, client: Pem, ca: Pem): string {
  return [
    workload(
      'web',
      'web',
      'web.mjs',
      '{ name: http, containerPort: 9080 }, { name: tcp, containerPort: 9100 }',
    ),
    workload('client', 'client', 'idle.mjs', ''),
    workload('secure', 'secure', 'secure.mjs', '{ name: tls-web, containerPort: 8443 }'),
    `
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 9080 }, { name: tcp, port: 9100 }]
---
apiVersion: v1
kind: Service
metadata: { name: secure }
spec:
  selector: { app: secure }
  # HTTP for clients (the DestinationRule originates TLS); the workload's own port is TLS.
  ports: [{ name: http, port: 8443 }]
---
# An endpoint without a sidecar (no tlsMode label, no service account): plaintext.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: plain }
spec:
  hosts: [plain.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: ${plainPort} }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 30443, name: https-mesh, protocol: HTTPS }
      tls: { mode: ISTIO_MUTUAL }
      hosts: ['*']
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge }
spec:
  hosts: ['*']
  gateways: [edge]
  http: [{ route: [{ destination: { host: web, port: { number: 9080 } } }] }]
`,
    tlsSecret('client-cred', 'default', client, ca),
  ]
    .map((d) => d.trim())
    .join('\n---\n');
}

const pa = (namespace: string, name: string, spec: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec: ${spec}
`;

const dr = (host: string, tlsSpec: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host.split('.')[0] ?? host} }
spec:
  host: ${host}
  trafficPolicy: { tls: ${tlsSpec} }
`;

/** Whether `port` answers a plaintext HTTP GET (false: refused, reset or closed). */
function plainGet(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.setTimeout(10_000, () => req.destroy());
  });
}

/** A TLS client with `pem` (Istio's ALPN) sending `hello`: what came back, '' when refused. */
function tlsSay(port: number, pem: Pem | undefined, alpn = ['istio']): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ...(pem ? { cert: pem.cert, key: pem.key } : {}),
      ALPNProtocols: alpn,
      rejectUnauthorized: false,
    });
    let text = '';
    s.on('secureConnect', () =>
      s.write('GET / HTTP/1.1\r\nhost: web\r\nconnection: close\r\n\r\n'),
    );
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(text));
    s.setTimeout(10_000, () => s.destroy());
  });
}

describe('mesh mTLS through skiff up', { timeout: 600_000 }, () => {
  let dir: string;
  let mesh: Mesh;
  let outbound: number;
  let webHttp: number;
  let webTcp: number;
  let plainSeen = 0;
  let plainServer: http.Server;
  let foreign: Pem;

  const write = (file: string, text: string) => writeFileSync(path.join(dir, file), text);
  const meshGet = async (url = 'http://web:9080/') => {
    const r = await viaProxy(outbound, url);
    return { status: r.status, xfcc: r.status === 200 ? String(JSON.parse(r.body).xfcc) : '' };
  };

  before(async () => {
    // A server without a sidecar: a TLS ClientHello would not parse as HTTP.
    plainServer = http.createServer((_req, res) => {
      plainSeen++;
      res.end('plain');
    });
    await new Promise<void>((r) => plainServer.listen(0, '127.0.0.1', r));
    const plainPort = (plainServer.address() as net.AddressInfo).port;
    dir = tempTree('skiff-mtls-', {
      'web.mjs': WEB_APP,
      'idle.mjs': IDLE_APP,
      'secure.mjs': MTLS_APP,
    });
    const ca = makeCa(dir, 'ca');
    makeLeaf(dir, 'server', ca, ['DNS:secure.default.svc.cluster.local']);
    const client = makeLeaf(dir, 'dr-client', ca, ['DNS:client.example.com']);
    const other = makeCa(dir, 'other-root');
    foreign = makeLeaf(dir, 'foreign', other, ['URI:spiffe://cluster.local/ns/default/sa/client']);
    write('mesh.yaml', meshYaml(plainPort, client, ca));
    write('pa.yaml', '');
    write('dr.yaml', '');
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 180_000,
    });
    const c = mesh.record.instances.find((i) => i.workloadName === 'client');
    const w = mesh.record.instances.find((i) => i.workloadName === 'web');
    assert.ok(c && w);
    outbound = c.outboundPort;
    webHttp = w.ports.find((p) => p.containerPort === 9080)?.listenPort ?? 0;
    webTcp = w.ports.find((p) => p.containerPort === 9100)?.listenPort ?? 0;
    await eventually(
      'web answers through the mesh',
      async () => (await meshGet()).status === 200,
      60_000,
    );
  });

  after(async () => {
    closeAgent();
    await mesh?.stop();
    plainServer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('auto mTLS: the server sidecar verified the client identity; no sidecar: plaintext', async () => {
    const r = await meshGet();
    assert.equal(r.status, 200);
    // The inbound sidecar sets XFCC only for a verified client certificate (APPEND_FORWARD).
    assert.match(r.xfcc, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/);
    assert.match(r.xfcc, /By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/web/);
    const before = plainSeen;
    const p = await viaProxy(outbound, 'http://plain.example.com/');
    assert.equal(p.status, 200);
    assert.equal(p.body, 'plain');
    assert.equal(plainSeen, before + 1);
    // Plaintext to the inbound port (PERMISSIVE by default) works and carries no forged identity.
    assert.equal(await plainGet(webHttp), true);
    const forged = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port: webHttp,
          path: '/',
          agent: false,
          headers: { 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/default/sa/admin' },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
    });
    assert.equal(JSON.parse(forged).xfcc, '', 'XFCC from a plaintext client is dropped');
  });

  test('STRICT: plaintext and foreign roots refused at the inbound port, mesh clients pass', async () => {
    write('pa.yaml', pa('istio-system', 'default', '{ mtls: { mode: STRICT } }'));
    await eventually('plaintext refused', async () => !(await plainGet(webHttp)));
    assert.equal((await meshGet()).status, 200);
    assert.equal(await tlsSay(webHttp, foreign), '', 'a certificate from another root');
    assert.equal(await tlsSay(webHttp, undefined), '', 'no client certificate');
    // TCP too: the client sidecar's tcp_proxy originates mTLS.
    const tcp = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: webTcp });
      let text = '';
      s.on('connect', () => s.write('x'));
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', () => undefined);
      s.on('close', () => resolve(text));
      s.setTimeout(10_000, () => s.destroy());
    });
    assert.equal(tcp, '', 'plaintext TCP refused');
  });

  test('precedence: mesh STRICT < namespace PERMISSIVE < workload STRICT < port PERMISSIVE', async () => {
    write(
      'pa.yaml',
      [
        pa('istio-system', 'default', '{ mtls: { mode: STRICT } }'),
        pa('default', 'default', '{ mtls: { mode: PERMISSIVE } }'),
      ].join('---'),
    );
    await eventually('namespace PERMISSIVE over mesh STRICT', () => plainGet(webHttp));
    assert.match((await meshGet()).xfcc, /sa\/client/, 'mTLS still works on the same port');
    write(
      'pa.yaml',
      [
        pa('istio-system', 'default', '{ mtls: { mode: STRICT } }'),
        pa('default', 'default', '{ mtls: { mode: PERMISSIVE } }'),
        pa('default', 'web', '{ selector: { matchLabels: { app: web } }, mtls: { mode: STRICT } }'),
      ].join('---'),
    );
    await eventually('workload STRICT over namespace', async () => !(await plainGet(webHttp)));
    write(
      'pa.yaml',
      [
        pa('default', 'default', '{ mtls: { mode: PERMISSIVE } }'),
        pa(
          'default',
          'web',
          "{ selector: { matchLabels: { app: web } }, mtls: { mode: STRICT }, portLevelMtls: { '9080': { mode: PERMISSIVE } } }",
        ),
      ].join('---'),
    );
    await eventually('port 9080 PERMISSIVE', () => plainGet(webHttp));
    assert.match((await meshGet()).xfcc, /sa\/client/);
  });

  test('DISABLE: plaintext only, and auto mTLS sends plaintext', async () => {
    write('pa.yaml', pa('default', 'default', '{ mtls: { mode: DISABLE } }'));
    await eventually('auto mTLS off for the namespace', async () => {
      const r = await meshGet();
      return r.status === 200 && r.xfcc === '';
    });
    assert.equal(await plainGet(webHttp), true);
    assert.equal(await tlsSay(webHttp, foreign), '', 'no TLS chain to handshake with');
  });

  test('DestinationRule tls: DISABLE overrides auto mTLS, ISTIO_MUTUAL originates it', async () => {
    write('pa.yaml', '');
    await eventually('mTLS again', async () => /sa\/client/.test((await meshGet()).xfcc));
    write('dr.yaml', dr('web', '{ mode: DISABLE }'));
    await eventually('DR DISABLE', async () => {
      const r = await meshGet();
      return r.status === 200 && r.xfcc === '';
    });
    // ISTIO_MUTUAL to a destination that cannot take it (no sidecar) fails: it is really mTLS.
    write(
      'dr.yaml',
      [dr('web', '{ mode: ISTIO_MUTUAL }'), dr('plain.example.com', '{ mode: ISTIO_MUTUAL }')].join(
        '---',
      ),
    );
    await eventually('DR ISTIO_MUTUAL', async () => /sa\/client/.test((await meshGet()).xfcc));
    await eventually(
      'ISTIO_MUTUAL to a plain server fails',
      async () => (await viaProxy(outbound, 'http://plain.example.com/')).status === 503,
    );
  });

  test('DestinationRule MUTUAL with credentialName: the client certificate from a Secret', async () => {
    write(
      'dr.yaml',
      dr(
        'secure',
        '{ mode: MUTUAL, credentialName: client-cred, sni: secure.default.svc.cluster.local, subjectAltNames: [secure.default.svc.cluster.local] }',
      ),
    );
    const r = await eventually(
      'MUTUAL through the Secret',
      async () => {
        const x = await viaProxy(outbound, 'http://secure:8443/');
        return x.status === 200 ? x : undefined;
      },
      60_000,
    );
    assert.equal(r.body, 'cn=dr-client');
    write('dr.yaml', '');
    await eventually(
      'without the DR the app refuses',
      async () => (await viaProxy(outbound, 'http://secure:8443/')).status !== 200,
    );
  });

  test('Gateway ISTIO_MUTUAL: mesh identities pass, others are refused', async () => {
    const gwPort = mesh.record.gateway.ports.find((p) => p.port === 30443)?.hostPort;
    assert.ok(gwPort);
    assert.equal(await tlsSay(gwPort, foreign, ['http/1.1']), '', 'foreign root');
    assert.equal(await tlsSay(gwPort, undefined, ['http/1.1']), '', 'no certificate');
    // The client sidecar reaches the gateway with its own identity (DR ISTIO_MUTUAL).
    write(
      'gw.yaml',
      `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: edge-mtls }
spec:
  hosts: [edge.mesh.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: ${gwPort} }]
  endpoints: [{ address: 127.0.0.1 }]
---
${dr('edge.mesh.internal', '{ mode: ISTIO_MUTUAL }')}`,
    );
    const r = await eventually('through the ISTIO_MUTUAL gateway', async () => {
      const x = await viaProxy(outbound, 'http://edge.mesh.internal/');
      return x.status === 200 ? x : undefined;
    });
    assert.match(r.body, /xfcc/);
  });

  test("metrics: the destination reports mutual_tls and both principals, as Istio's do", async () => {
    await meshGet();
    const w = mesh.record.instances.find((i) => i.workloadName === 'web');
    assert.ok(w);
    const text = await eventually('the mTLS series', async () => {
      const body = await (await fetch(`http://127.0.0.1:${w.adminPort}/stats/prometheus`)).text();
      return /istio_requests_total\{[^}]*connection_security_policy="mutual_tls"/.test(body)
        ? body
        : undefined;
    });
    const line = text
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && l.includes('"mutual_tls"'));
    assert.ok(line);
    assert.match(line, /source_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/);
    assert.match(line, /destination_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/web"/);
  });
});
