// What a Sidecar resource saves: a mesh of N Services (DestinationRules with two subsets, a
// VirtualService for every fourth), two idle workloads in one namespace, one of them scoped by a
// Sidecar to its own namespace. Prints the xDS each proxy is sent (resources and protobuf bytes,
// as the control plane packs them) and each sidecar's resident memory once synced.
//
//   node --import tsx bench/sidecar-scoping.ts [--services 200] [--namespaces 10]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigPaths } from '../src/config/parse.js';
import { generateResources } from '../src/control-plane/generate/index.js';
import { DEFAULT_MESH_CONFIG } from '../src/control-plane/model/mesh-config.js';
import { MeshModel } from '../src/control-plane/model/mesh-model.js';
import type { InstancesFile } from '../src/control-plane/registry/instances.js';
import type { ProxyStatus } from '../src/control-plane/server/ads-server.js';
import { Snapshot } from '../src/control-plane/server/snapshot.js';
import { startMesh } from '../src/launcher/mesh.js';
import { SHORT_NAME, TypeUrl } from '../src/xds/types.js';
import { rssBytes } from './procfs.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '200' },
    namespaces: { type: 'string', default: '10' },
  },
});
const SERVICES = Number(values.services);
const NAMESPACES = Number(values.namespaces);

const IDLE = `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`;

function meshConfig(): string {
  const docs: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const ns = `team-${i % NAMESPACES}`;
    docs.push(`apiVersion: v1
kind: Service
metadata: { name: svc-${i}, namespace: ${ns} }
spec:
  selector: { app: svc-${i} }
  ports: [{ name: http, port: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc-${i}, namespace: ${ns} }
spec:
  host: svc-${i}
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]`);
    if (i % 4 === 0)
      docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc-${i}, namespace: ${ns} }
spec:
  hosts: [svc-${i}]
  http:
    - match: [{ headers: { x-canary: { exact: "1" } } }]
      route: [{ destination: { host: svc-${i}, subset: v2 } }]
    - route: [{ destination: { host: svc-${i}, subset: v1 }, weight: 90 }, { destination: { host: svc-${i}, subset: v2 }, weight: 10 }]`);
  }
  for (const name of ['wide', 'scoped'])
    docs.push(`apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: team-0, labels: { app: ${name} } }
spec:
  command: [node, idle.mjs]`);
  docs.push(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: scoped, namespace: team-0 }
spec:
  workloadSelector: { labels: { app: scoped } }
  egress: [{ hosts: ["./*", "istio-system/*"] }]`);
  return docs.join('\n---\n');
}

interface Row {
  proxy: string;
  counts: Record<string, number>;
  bytes: Record<string, number>;
  rssMb: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-scoping-'));
  writeFileSync(path.join(dir, 'mesh.yaml'), meshConfig());
  writeFileSync(path.join(dir, 'idle.mjs'), IDLE);
  const mesh = await startMesh({ dir: '.', cwd: dir, ingressPort: 0, startTimeoutMs: 300_000 });
  try {
    const cp = `http://${mesh.record.controlPlane.httpAddress}`;
    let statuses: ProxyStatus[] = [];
    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      statuses = (await (await fetch(`${cp}/debug/syncz`)).json()) as ProxyStatus[];
      const synced = statuses.every((p) =>
        Object.values(p.types).every((t) => t.ackedVersion === t.sentVersion && !t.nack),
      );
      if (statuses.length === 3 && synced) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The same model the control plane built, to count what it packed for each proxy.
    const { resources } = await loadConfigPaths([dir]);
    const instances = (JSON.parse(readFileSync(mesh.record.instancesFile, 'utf8')) as InstancesFile)
      .instances;
    const model = MeshModel.build({ resources, instances, meshConfig: DEFAULT_MESH_CONFIG });
    // Let the proxies settle (their first GCs), then sample memory.
    await new Promise((r) => setTimeout(r, 3000));
    const rows: Row[] = [];
    for (const name of ['wide-0', 'scoped-0']) {
      const status = statuses.find((s) => s.node.name === name);
      const inst = mesh.record.instances.find((i) => i.name === name);
      if (!status || !inst?.sidecarPid) throw new Error(`no proxy ${name}`);
      const snapshot = Snapshot.build(generateResources(status.node, model, { gatewayPorts: {} }));
      const counts: Record<string, number> = {};
      const bytes: Record<string, number> = {};
      for (const t of [
        TypeUrl.Cluster,
        TypeUrl.ClusterLoadAssignment,
        TypeUrl.Listener,
        TypeUrl.RouteConfiguration,
      ]) {
        const list = [...snapshot.resources(t).values()];
        counts[SHORT_NAME[t]] = list.length;
        bytes[SHORT_NAME[t]] = list.reduce((n, any) => n + any.value.length, 0);
      }
      const samples: number[] = [];
      for (let i = 0; i < 10; i++) {
        samples.push(rssBytes([inst.sidecarPid]));
        await new Promise((r) => setTimeout(r, 200));
      }
      rows.push({ proxy: name, counts, bytes, rssMb: median(samples) / 2 ** 20 });
    }
    const types = Object.keys(rows[0]?.counts ?? {});
    console.log(
      `${SERVICES} Services in ${NAMESPACES} namespaces; Sidecar of scoped-0: ./*, istio-system/*\n`,
    );
    console.log(
      `| proxy | ${types.map((t) => `${t} (resources / bytes)`).join(' | ')} | xDS bytes | RSS (MB) |`,
    );
    console.log(`|---|${types.map(() => '---|').join('')}---|---|`);
    for (const r of rows) {
      const total = Object.values(r.bytes).reduce((a, b) => a + b, 0);
      console.log(
        `| ${r.proxy} | ${types.map((t) => `${r.counts[t]} / ${r.bytes[t]}`).join(' | ')} | ${total} | ${r.rssMb.toFixed(1)} |`,
      );
    }
  } finally {
    await mesh.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
