// The known path tricks against an AuthorizationPolicy DENY on /admin, sent as raw request lines
// (node:net, so nothing normalises them on the way) and as HTTP/2 :path values, to a real sidecar
// and through the ingress gateway, under each mesh config pathNormalization option. The backend is
// lax on purpose (decodes everything, drops `;` parameters, merges slashes, resolves dot segments)
// as app servers are: no trick may reach its admin handler, and legit paths still get through.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import type { ProxyStatus } from '../src/control-plane/server/ads-server.js';
import { SKIFF, closeAgent, eventually, getJson, synced, tempTree } from './support/skiff.js';
import { httpIngress } from './support/gateway.js';

const ADMIN = 'ADMIN-HANDLER';

/** The lax backend: what it calls /admin is what Tomcat-, Spring- or Express-style routers do. */
const LAX_APP = `
import http from 'node:http';
function lax(url) {
  let p = url.split('?')[0].split('#')[0];
  try { p = decodeURIComponent(p); } catch {}
  p = p.replace(/\\\\/g, '/').split('/').map((s) => s.split(';')[0]).join('/');
  const out = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop(); else out.push(s);
  }
  return '/' + out.join('/');
}
http.createServer((req, res) => {
  const p = lax(req.url);
  const answer = (status, body) => { res.writeHead(status, { 'content-type': 'text/plain' }); res.end(body); };
  if (p === '/admin' || p.startsWith('/admin/')) return answer(200, '${ADMIN}');
  if (p === '/public' || p === '/administrator') return answer(200, 'OK ' + req.url);
  if (p.startsWith('/echo')) return answer(200, 'SAW ' + req.url);
  answer(404, 'NOT FOUND ' + req.url);
}).listen(Number(process.env.PORT_HTTP), '127.0.0.1');
`;

const CONFIG = `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: backend, namespace: default, labels: { app: backend } }
spec:
  command: [node, lax.mjs]
  ports: [{ name: http, containerPort: 9080 }]
---
apiVersion: v1
kind: Service
metadata: { name: backend, namespace: default }
spec:
  selector: { app: backend }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec:
  selector: { matchLabels: { app: backend } }
  action: DENY
  rules: [{ to: [{ operation: { paths: ["/admin", "/admin/*"] } }] }]
---
${httpIngress({ name: 'backend-in', host: '"*"', service: 'backend', namespace: 'default' })}
`;

const meshConfigMap = (n: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    pathNormalization:
      normalization: ${n}
`;

/** Request targets as sent on the request line (h1) or in :path (h2:). */
const TRICKS: readonly string[] = [
  '/admin',
  '/admin/',
  '/admin/users',
  '/%61dmin',
  '/%61%64%6D%69%6E',
  '/admin%2F',
  '/%2Fadmin',
  '/%2fadmin',
  '/%2e/admin',
  '/admin/.',
  '//admin',
  '///admin//users',
  '/./admin',
  '/foo/../admin',
  '/foo/%2e%2e/admin',
  '/foo/..%2Fadmin',
  '/foo%2F..%2Fadmin',
  '/admin/../admin',
  '/admin%2e',
  '\\admin',
  '/%5Cadmin',
  '/foo\\..\\admin',
  '/ADMIN',
  '/admin;x',
  '/admin;jsessionid=1/users',
  '/foo/..;/admin',
  '/admin#frag',
  '/admin?x=1',
  'http://backend.default:9080/admin',
  'http://backend.default:9080//admin',
  'h2:/admin',
  'h2:/%2e/admin',
  'h2:/%2Fadmin',
  'h2://admin',
  'h2:/admin;x',
  'h2:/foo/../admin',
];
const LEGIT = ['/public', '/administrator', '/public?x=/admin', 'h2:/public'];
const OPTIONS = ['BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES', 'NONE'] as const;

interface Outcome {
  readonly status: number;
  readonly admin: boolean;
}

/** One HTTP/1.1 request written byte for byte; the answer's status and whether admin answered. */
function rawRequest(port: number, target: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no answer for ${target}`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, admin: text.includes(ADMIN) });
    });
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: backend.default:9080\r\nConnection: close\r\n\r\n`,
    );
  });
}

/** One HTTP/2 (prior knowledge) request with `:path` exactly as given. */
function h2Request(port: number, p: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    // A refused session never reaches the app: recorded as status 0, not a test failure.
    session.on('error', () => resolve({ status: 0, admin: false }));
    const req = session.request({ ':method': 'GET', ':path': p, ':authority': 'backend' });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: string) => (body += c));
    req.on('error', (e) => {
      session.close();
      // A stream reset is the proxy refusing the request: no admin either way.
      resolve({ status: status || -1, admin: body.includes(ADMIN) || String(e).includes(ADMIN) });
    });
    req.on('end', () => {
      session.close();
      resolve({ status, admin: body.includes(ADMIN) });
    });
    req.end();
  });
}

const send = (port: number, trick: string): Promise<Outcome> =>
  trick.startsWith('h2:') ? h2Request(port, trick.slice(3)) : rawRequest(port, trick);

const cell = (o: Outcome): string => (o.admin ? `${o.status} ADMIN!` : String(o.status));

describe('path normalization: the bypass table against a DENY on /admin', () => {
  let mesh: Mesh;
  let dir: string;
  const table = new Map<string, Map<string, string>>();

  const sidecarPort = (): number => {
    const b = mesh.record.instances.find((i) => i.workloadName === 'backend');
    const p = b?.ports[0]?.listenPort;
    assert.ok(p, 'the backend sidecar listens');
    return p;
  };
  const gatewayPort = (): number => {
    const p = mesh.record.gateway.ports[0]?.hostPort;
    assert.ok(p, 'the gateway listens');
    return p;
  };
  const statuses = () =>
    getJson<ProxyStatus[]>(`http://${mesh.record.controlPlane.httpAddress}/debug/syncz`);
  const ldsVersions = (list: ProxyStatus[]): Map<string, string> =>
    new Map(
      list.map((p) => {
        const lds = Object.entries(p.types).find(([t]) => t.endsWith('Listener'))?.[1];
        return [p.id, String(lds?.sentVersion ?? '')];
      }),
    );

  before(async () => {
    dir = tempTree('skiff-pathnorm-', {
      'mesh.yaml': CONFIG,
      'mesh-config.yaml': meshConfigMap('BASE'),
      'lax.mjs': LAX_APP,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 300_000,
    });
    const expected = mesh.record.instances.length + 1;
    await eventually('every proxy synced', async () => synced(await statuses(), expected), 180_000);
  });

  after(async () => {
    closeAgent();
    await mesh?.stop();
    const rows = [...table.keys()];
    const header = `| trick | ${OPTIONS.map((o) => `${o} (sidecar / gateway)`).join(' | ')} |`;
    const lines = [header, `|---|${OPTIONS.map(() => '---|').join('')}`];
    for (const r of rows) {
      const byOption = table.get(r);
      lines.push(`| \`${r}\` | ${OPTIONS.map((o) => byOption?.get(o) ?? '').join(' | ')} |`);
    }
    console.log(
      `\nPath bypass table (status; "ADMIN!" = reached the admin handler)\n${lines.join('\n')}`,
    );
  });

  /** Writes the mesh config and waits until every proxy has acknowledged new listeners. */
  async function switchTo(option: string): Promise<void> {
    const before = ldsVersions(await statuses());
    fs.writeFileSync(path.join(dir, 'mesh-config.yaml'), meshConfigMap(option));
    const expected = mesh.record.instances.length + 1;
    await eventually(
      `every proxy on pathNormalization ${option}`,
      async () => {
        const now = await statuses();
        if (!synced(now, expected)) return false;
        const v = ldsVersions(now);
        return [...before].every(([id, old]) => v.get(id) !== undefined && v.get(id) !== old);
      },
      120_000,
    );
  }

  /** What the backend sees of a path with dots, doubled and escaped slashes (normalisation on?). */
  const SEEN: Record<(typeof OPTIONS)[number], string> = {
    NONE: 'SAW /echo/./a//b%2Fc',
    BASE: 'SAW /echo/a//b%2Fc',
    MERGE_SLASHES: 'SAW /echo/a/b%2Fc',
    DECODE_AND_MERGE_SLASHES: 'SAW /echo/a/b/c',
  };

  for (const option of OPTIONS) {
    test(`${option}: no trick reaches the admin handler; legit paths pass`, async () => {
      if (option !== 'BASE') await switchTo(option);
      // The sidecar forwards the path as this option normalises it.
      const echo = await new Promise<string>((resolve, reject) => {
        const s = net.connect(sidecarPort(), '127.0.0.1');
        let text = '';
        s.on('data', (c: Buffer) => (text += c.toString()));
        s.on('error', reject);
        s.on('close', () => resolve(text));
        s.write('GET /echo/./a//b%2Fc HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n');
      });
      assert.ok(echo.includes(SEEN[option]), `${option}: ${echo.split('\r\n\r\n')[1] ?? echo}`);

      const bypasses: string[] = [];
      for (const trick of TRICKS) {
        const viaSidecar = await send(sidecarPort(), trick);
        const viaGateway = await send(gatewayPort(), trick);
        const row = table.get(trick) ?? new Map<string, string>();
        row.set(option, `${cell(viaSidecar)} / ${cell(viaGateway)}`);
        table.set(trick, row);
        if (viaSidecar.admin) bypasses.push(`${trick} (sidecar)`);
        if (viaGateway.admin) bypasses.push(`${trick} (gateway)`);
        if (!viaSidecar.admin && viaSidecar.status === 200)
          bypasses.push(`${trick} (sidecar answered 200 without admin?)`);
      }
      for (const p of LEGIT) {
        const a = await send(sidecarPort(), p);
        const b = await send(gatewayPort(), p);
        const row = table.get(p) ?? new Map<string, string>();
        row.set(option, `${cell(a)} / ${cell(b)}`);
        table.set(p, row);
        assert.deepEqual([a.status, b.status], [200, 200], `${option}: legit ${p}`);
      }
      assert.deepEqual(bypasses, [], `${option}: tricks that got through`);
    });
  }
});
