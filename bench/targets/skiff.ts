// skiff's sidecar pair as a real mesh, started the way `skiff up` starts it: the control plane,
// a Workload `echo` (the app) behind Service `echo`, and a Workload `client` whose sidecar's
// outbound listener (its HTTP_PROXY) takes the load: client sidecar → echo sidecar → app.
// Variants (the target's name): skiff runs Istio's defaults (metrics on, no access logs, no
// tracing, auto mTLS); skiff-plaintext turns mTLS off (PeerAuthentication DISABLE); skiff-bare turns every metric off; skiff-telemetry adds access logs and 1% tracing
// to a Zipkin receiver started here; skiff-rules loads the rule set of rules.ts over plaintext;
// skiff-secure adds mTLS on every hop and an ALLOW AuthorizationPolicy (secure.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSkiffCommand } from '../../src/launcher/children.js';
import { startMesh, type Mesh } from '../../src/launcher/mesh.js';
import type { Cleanup } from '../cleanup.js';
import { APP_FILE, writeApp } from './app.js';
import { rulesYaml } from './rules.js';
import { PLAINTEXT_YAML, checkSecure, secureYaml } from './secure.js';
import {
  BARE_YAML,
  checkTelemetry,
  fullTelemetryYaml,
  readSidecarTelemetry,
  startZipkin,
  type TelemetryVariant,
  type ZipkinReceiver,
} from './telemetry.js';
import { PROXIED_URL, SERVICE_HOST, SERVICE_PORT, type RunningTarget } from './types.js';

export type SkiffTargetName =
  'skiff' | 'skiff-plaintext' | 'skiff-bare' | 'skiff-telemetry' | 'skiff-rules' | 'skiff-secure';

/** Each variant's telemetry. */
export const TELEMETRY_OF: Readonly<Record<SkiffTargetName, TelemetryVariant>> = {
  skiff: 'default',
  'skiff-plaintext': 'default',
  'skiff-bare': 'bare',
  'skiff-telemetry': 'full',
  'skiff-rules': 'default',
  'skiff-secure': 'default',
};

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
  /** Which variant (default skiff): skiff-rules loads rules.ts's rule set, see TELEMETRY_OF. */
  readonly name?: SkiffTargetName;
}

export interface SkiffTarget extends RunningTarget {
  readonly mesh: Mesh;
}

export async function startSkiffPair(o: SkiffOptions): Promise<SkiffTarget> {
  const root = path.join(o.dir, 'skiff');
  const meshDir = path.join(root, 'mesh');
  mkdirSync(meshDir, { recursive: true });
  const name = o.name ?? 'skiff';
  const variant = TELEMETRY_OF[name];
  writeFileSync(path.join(meshDir, 'mesh.yaml'), MESH_YAML);
  if (name === 'skiff-rules') writeFileSync(path.join(meshDir, 'rules.yaml'), rulesYaml());
  if (name === 'skiff-secure') writeFileSync(path.join(meshDir, 'security.yaml'), secureYaml());
  // The spine's figures were plaintext: skiff-rules is measured against them as they were.
  if (name === 'skiff-plaintext' || name === 'skiff-rules')
    writeFileSync(path.join(meshDir, 'plaintext.yaml'), PLAINTEXT_YAML);
  if (variant === 'bare') writeFileSync(path.join(meshDir, 'telemetry.yaml'), BARE_YAML);
  let zipkin: ZipkinReceiver | undefined;
  if (variant === 'full') {
    zipkin = await startZipkin();
    const receiver = zipkin;
    o.cleanup.add('zipkin receiver', () => receiver.close());
    writeFileSync(path.join(meshDir, 'telemetry.yaml'), fullTelemetryYaml(zipkin.port));
  }
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
  const verify = async (): Promise<readonly string[]> => {
    const sidecars = await Promise.all(
      (['client', 'echo'] as const).map((workload) => {
        const inst = mesh.record.instances.find((i) => i.workloadName === workload);
        if (!inst) throw new Error(`${name}: no ${workload} instance in the mesh`);
        const label = workload === 'client' ? 'outbound' : 'inbound';
        return readSidecarTelemetry(label, `http://127.0.0.1:${inst.adminPort}`, inst.sidecarLog);
      }),
    );
    // The tracer flushes its spans every second: give the warm-up's a moment to arrive.
    for (let i = 0; zipkin && zipkin.spans() === 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const { problems, notes } = checkTelemetry(variant, sidecars, zipkin?.spans());
    if (name === 'skiff-secure') problems.push(...checkSecure(sidecars));
    if (problems.length) {
      throw new Error(`${name} is not configured as it should be: ${problems.join('; ')}`);
    }
    return notes;
  };
  return {
    name,
    mesh,
    load: { connectUrl: `http://127.0.0.1:${client?.outboundPort ?? 0}`, proxiedUrl: PROXIED_URL },
    ...(client?.adminPort ? { outboundAdmin: `http://127.0.0.1:${client.adminPort}` } : {}),
    hops: [
      { label: 'outbound', pids: sidecarPid('client') },
      { label: 'inbound', pids: sidecarPid('echo') },
    ],
    verify,
    stop,
  };
}
