// skiff's sidecar pair as a real mesh, started the way `skiff up` starts it: the control plane,
// a Workload `echo` (the app) behind Service `echo`, and a Workload `client` whose sidecar's
// outbound listener (its HTTP_PROXY) takes the load: client sidecar → echo sidecar → app.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSkiffCommand } from '../../src/launcher/children.js';
import { startMesh, type Mesh } from '../../src/launcher/mesh.js';
import type { Cleanup } from '../cleanup.js';
import { APP_FILE, writeApp } from './app.js';
import { rulesYaml } from './rules.js';
import { PROXIED_URL, SERVICE_HOST, SERVICE_PORT, type RunningTarget } from './types.js';

export const MESH_YAML = `# Written by skiff's benchmark.
apiVersion: v1
kind: Service
metadata:
  name: ${SERVICE_HOST}
spec:
  selector: { app: echo }
  ports:
    - name: http
      port: ${SERVICE_PORT}
      targetPort: ${SERVICE_PORT}
---
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata:
  name: echo
  labels: { app: echo }
spec:
  command: [node, ${APP_FILE}]
  ports:
    - name: http
      containerPort: ${SERVICE_PORT}
---
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata:
  name: client
  labels: { app: client }
spec:
  command: [node, -e, 'setInterval(() => {}, 1 << 30)']
`;

export interface SkiffOptions {
  /** The run's temp dir; the mesh's YAML, state and logs go under `<dir>/skiff`. */
  readonly dir: string;
  readonly cleanup: Cleanup;
  /** Run every skiff process under `node --cpu-prof`, profiles written here at exit. */
  readonly cpuProfileDir?: string;
  /** More node flags for every skiff process (e.g. `--max-semi-space-size=2`), to try tunings. */
  readonly nodeFlags?: readonly string[];
  /** Each child's output line (with --verbose). */
  readonly echo?: (line: string) => void;
  /** Load the realistic rule set of rules.ts too (the skiff-rules target). */
  readonly rules?: boolean;
}

export interface SkiffTarget extends RunningTarget {
  readonly mesh: Mesh;
}

export async function startSkiffPair(o: SkiffOptions): Promise<SkiffTarget> {
  const root = path.join(o.dir, 'skiff');
  const meshDir = path.join(root, 'mesh');
  mkdirSync(meshDir, { recursive: true });
  writeFileSync(path.join(meshDir, 'mesh.yaml'), MESH_YAML);
  if (o.rules) writeFileSync(path.join(meshDir, 'rules.yaml'), rulesYaml());
  writeApp(meshDir);
  const [node = process.execPath, ...rest] = defaultSkiffCommand();
  const skiffCommand = [
    node,
    ...(o.nodeFlags ?? []),
    ...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : []),
    ...rest,
  ];
  // Ctrl-C while the mesh starts: startMesh stops what it started and rejects; wait for that.
  const abort = new AbortController();
  const starting = startMesh({
    dir: meshDir,
    cwd: root,
    ingressPort: 0,
    skiffCommand,
    signal: abort.signal,
    ...(o.echo ? { echo: o.echo } : {}),
  });
  const interrupt = o.cleanup.add('skiff mesh (starting)', async () => {
    abort.abort();
    const started = await starting.catch(() => undefined);
    await started?.stop(); // it came up just as we were interrupted
  });
  let mesh: Mesh;
  try {
    mesh = await starting;
  } finally {
    interrupt.drop();
  }
  const { now: stop } = o.cleanup.add('skiff mesh', () => mesh.stop());
  const client = mesh.record.instances.find((i) => i.workloadName === 'client');
  const sidecarPid = (workload: string): number[] => {
    const inst = mesh.record.instances.find((i) => i.workloadName === workload);
    const pid = inst ? mesh.process(`${inst.name}.sidecar`)?.pid : undefined;
    return pid === undefined ? [] : [pid];
  };
  return {
    name: o.rules ? 'skiff-rules' : 'skiff',
    mesh,
    load: { connectUrl: `http://127.0.0.1:${client?.outboundPort ?? 0}`, proxiedUrl: PROXIED_URL },
    hops: [
      { label: 'outbound', pids: sidecarPid('client') },
      { label: 'inbound', pids: sidecarPid('echo') },
    ],
    stop,
  };
}
