// The mesh the upstream resilience tests run: four endpoints of `app: backend` in four
// localities (three Workloads behind sidecars, one WorkloadEntry served by the test), the
// clients whose sidecars are under test, and helpers to name who answered.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Mesh } from '../../src/launcher/mesh.js';
import { startMesh } from '../../src/launcher/mesh.js';
import { IDLE_APP, SKIFF, eventually, meshSynced, tempTree } from './skiff.js';
import type { ClusterStatus, HostStatus } from './upstream.js';
import { BACKEND_APP, TestServer, clusterStatus, control, hostPort, send } from './upstream.js';

export type Backend = 'a' | 'b' | 'c' | 'd';
export const BACKENDS: readonly Backend[] = ['a', 'b', 'c', 'd'];

const workload = (name: string, labels: string, command: string, ports: boolean) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, labels: { ${labels} } }
spec:
  command: [node, ${command}]
  ${ports ? 'ports: [{ name: http, containerPort: 8080 }]' : ''}
`;

const REGION = 'topology.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';

/** A Service selecting `app: backend` (or `selector`) on port 8080. */
export const service = (name: string, selector = 'app: backend') => `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { ${selector} }
  ports: [{ name: http, port: 8080 }]
`;

export const destinationRule = (host: string, trafficPolicy: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host} }
spec:
  host: ${host}
  trafficPolicy:
${trafficPolicy
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;

export const workloadEntry = (name: string, port: number, labels: string) => `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name} }
spec:
  address: 127.0.0.1
  ports: { http: ${port} }
  labels: { ${labels} }
`;

export interface UpstreamMesh {
  readonly mesh: Mesh;
  readonly dir: string;
  readonly d: TestServer;
  /** The sidecars under test: `client` (no locality) and `client-r1` (region r1, zone z1). */
  readonly client: { outbound: number; admin: number };
  readonly clientR1: { outbound: number; admin: number };
  /** Backend by the port its endpoint has in the registry (a sidecar's inbound listener). */
  readonly byPort: ReadonlyMap<number, Backend>;
  readonly portOf: Readonly<Record<Backend, number>>;
  /** Sets a backend's answer: a status, 'hold', or 'ok'. */
  mode(b: Backend, m: number | 'hold' | 'ok'): Promise<void>;
  /** Releases the requests a backend holds. */
  release(b: Backend): Promise<void>;
  /** Requests a backend's app saw. */
  requests(b: Backend): Promise<number>;
  held(b: Backend): Promise<number>;
  /** Writes a file into the mesh directory (the control plane picks it up). */
  write(name: string, text: string): void;
  stop(): Promise<void>;
}

/** Which backend answered: `backend-a-0 500` → 'a'; the test server says `backend-d`. */
export function who(body: string): Backend | undefined {
  const m = /^backend-([a-d])\b/.exec(body);
  return m ? (m[1] as Backend) : undefined;
}

export async function startUpstreamMesh(prefix: string, config: string): Promise<UpstreamMesh> {
  const d = new TestServer('backend-d');
  const dPort = await d.listen();
  const files = {
    'mesh.yaml': [
      workload(
        'backend-a',
        `app: backend, ${REGION}: r1, ${ZONE}: z1, pool: gold`,
        'backend.mjs',
        true,
      ),
      workload('backend-b', `app: backend, ${REGION}: r1, ${ZONE}: z2`, 'backend.mjs', true),
      workload('backend-c', 'app: backend, istio-locality: r2.z3, pool: gold', 'backend.mjs', true),
      workloadEntry('backend-d', dPort, `app: backend, ${REGION}: r3, ${ZONE}: z4`),
      workload('client', 'app: client', 'idle.mjs', false),
      workload(
        'client-r1',
        `app: client-r1, ${REGION}: r1, ${ZONE}: z1, pool: gold`,
        'idle.mjs',
        false,
      ),
    ].join('---'),
    'rules.yaml': config,
    'backend.mjs': BACKEND_APP,
    'idle.mjs': IDLE_APP,
  };
  const dir = tempTree(prefix, files);
  const mesh = await startMesh({
    dir: '.',
    cwd: dir,
    skiffCommand: SKIFF,
    ingressPort: 0,
    startTimeoutMs: 180_000,
  });
  const inst = (w: string) => {
    const i = mesh.record.instances.find((x) => x.workloadName === w);
    if (!i) throw new Error(`no instance of ${w}`);
    return i;
  };
  const app = (b: Backend) => inst(`backend-${b}`).ports[0]!.appPort;
  const portOf = {
    a: inst('backend-a').ports[0]!.listenPort,
    b: inst('backend-b').ports[0]!.listenPort,
    c: inst('backend-c').ports[0]!.listenPort,
    d: dPort,
  };
  const byPort = new Map(BACKENDS.map((b) => [portOf[b], b] as const));
  const client = { outbound: inst('client').outboundPort, admin: inst('client').adminPort };
  const clientR1 = { outbound: inst('client-r1').outboundPort, admin: inst('client-r1').adminPort };
  // Every proxy has its config (the ADS server's view).
  await meshSynced(mesh, 120_000);
  return {
    mesh,
    dir,
    d,
    client,
    clientR1,
    byPort,
    portOf,
    async mode(b, m) {
      if (b === 'd') {
        d.handle = m === 'hold' ? (_req, res) => (d.held.push(res), true) : undefined;
        d.status = typeof m === 'number' ? m : 200;
        return;
      }
      await control(app(b), typeof m === 'number' ? `mode?status=${m}` : `mode?mode=${m}`);
    },
    async release(b) {
      if (b === 'd') d.release();
      else await control(app(b), 'release');
    },
    async requests(b) {
      return b === 'd' ? d.seen.length : (await control(app(b), 'stats')).requests;
    },
    async held(b) {
      return b === 'd' ? d.held.length : (await control(app(b), 'stats')).held;
    },
    write(name, text) {
      writeFileSync(path.join(dir, name), text);
    },
    async stop() {
      await mesh.stop();
      await d.close();
    },
  };
}

/** The host entry of backend `b` in a cluster status. */
export function hostOf(m: UpstreamMesh, c: ClusterStatus, b: Backend): HostStatus {
  const h = c.host_statuses.find((x) => hostPort(x) === m.portOf[b]);
  if (!h) throw new Error(`backend ${b} is not a host of ${c.name}`);
  return h;
}

/** Waits until `proxy`'s cluster has all four backends as hosts (config pushed and applied). */
export async function clusterReady(
  m: UpstreamMesh,
  admin: number,
  cluster: string,
  hosts = 4,
): Promise<ClusterStatus> {
  return eventually(`${cluster} has ${hosts} hosts`, async () => {
    const c = await clusterStatus(admin, cluster);
    return c.host_statuses.length === hosts ? c : undefined;
  });
}

/** Sends `n` requests in sequence and counts who answered (and failures). */
export async function tally(
  outbound: number,
  url: string,
  n: number,
  o: Parameters<typeof send>[2] = {},
): Promise<{ by: Record<string, number>; order: string[]; failed: number }> {
  const by: Record<string, number> = {};
  const order: string[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const r = await send(outbound, url, o);
    if (r.status !== 200) failed++;
    const b = who(r.body) ?? `?${r.status}`;
    by[b] = (by[b] ?? 0) + 1;
    order.push(b);
  }
  return { by, order, failed };
}
