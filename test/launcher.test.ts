// `skiff up` end to end: a real mesh (control plane, sidecars, gateway, apps) from a temp
// directory, driven through the gateway, `skiff exec`, `skiff apply`, `skiff proxy-status`;
// crash restarts; a second mesh side by side; nothing left behind after SIGTERM or SIGKILL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstancesFile } from '../src/control-plane/registry/instances.js';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import type { MeshRecord } from '../src/launcher/mesh-record.js';
import { meshFileIn, readMeshRecord } from '../src/launcher/mesh-record.js';
import { allPids, pidAlive } from '../src/launcher/pids.js';
import { waitFor } from '../src/launcher/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** skiff from source: the form the launcher is told to start its children with, too. */
const SKIFF = [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  path.join(ROOT, 'src/cli/main.ts'),
];
const START_TIMEOUT_MS = 120_000;
const HOOK_TIMEOUT = { timeout: 240_000 };

const SERVER = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end('version ' + process.env.VERSION + ' from ' + process.env.SKIFF_INSTANCE + '\\n');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const workload = (version: string): string => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata:
  name: echo-${version}
  labels: { app: echo, version: ${version} }
spec:
  command: [node, server.mjs]
  env: { VERSION: ${version} }
  ports:
    - name: http
      containerPort: 8080
`;

const MESH_YAML = [
  `
apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector: { app: echo }
  ports:
    - name: http
      port: 8080
      targetPort: 8080
`,
  workload('v1'),
  workload('v2'),
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: echo
spec:
  host: echo
  subsets:
    - name: v1
      labels: { version: v1 }
    - name: v2
      labels: { version: v2 }
`,
  `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: front-gateway
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ['*']
`,
  `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: front
spec:
  hosts: ['*']
  gateways: [front-gateway]
  http:
    - match:
        - uri: { prefix: /echo }
      route:
        - destination:
            host: echo
            port: { number: 8080 }
`,
].join('---');

const VS_ALL_TO_V2 = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
spec:
  hosts: [echo]
  http:
    - route:
        - destination:
            host: echo
            subset: v2
`;

/** A temp folder with `mesh/` (the YAML and the app) to run `skiff up mesh` from. */
function meshDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(dir, 'mesh'));
  writeFileSync(path.join(dir, 'mesh', 'mesh.yaml'), MESH_YAML);
  writeFileSync(path.join(dir, 'mesh', 'server.mjs'), SERVER);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the skiff CLI to completion. */
function skiff(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...rest] = SKIFF;
    const child = spawn(cmd, [...rest, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** GET; with `proxy`, in forward-proxy form (`GET http://host/path`) as HTTP_PROXY clients do. */
function get(url: string, proxy?: string): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const via = proxy ? new URL(proxy) : target;
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: via.hostname,
        port: via.port,
        path: proxy ? url : target.pathname + target.search,
        headers: { host: target.host },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

/** The gateway URL with 127.0.0.1 for localhost (the router binds loopback IPv4). */
function gatewayUrl(record: MeshRecord): string {
  const url = record.gateway.urls[0];
  assert.ok(url, 'the record names a gateway URL');
  return url.replace('//localhost:', '//127.0.0.1:');
}

/** Versions answered by `n` requests; retried until `want` holds (config takes a moment). */
async function versionsUntil(
  fetchOne: () => Promise<{ status: number; body: string }>,
  want: (versions: string[]) => boolean,
  what: string,
): Promise<string[]> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = [];
      for (let i = 0; i < 6; i++) {
        const r = await fetchOne().catch((err: Error) => ({ status: 0, body: err.message }));
        last.push(r.status === 200 ? (/version (v\d)/.exec(r.body)?.[1] ?? r.body) : `${r.status}`);
      }
      return want(last);
    },
    { timeoutMs: 60_000, what: `${what} (last: ${last.join(',')})` },
  );
  return last;
}

/** Live processes (zombies aside) that belong to the mesh whose state dir is `stateDir`. */
function processesOf(stateDir: string): string[] {
  const mark = `SKIFF_STATE_DIR=${stateDir}`;
  const out: string[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      if ((environ.includes(mark) || cmdline.some((a) => a.includes(stateDir))) && pidAlive(pid)) {
        out.push(`${pid} ${cmdline.join(' ')}`);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function instances(record: MeshRecord): InstancesFile {
  return JSON.parse(readFileSync(record.instancesFile, 'utf8')) as InstancesFile;
}

/** Starts `skiff up mesh` as a child process in `dir`; resolves once its mesh.json is there. */
async function skiffUp(
  dir: string,
): Promise<{ child: ChildProcess; record: MeshRecord; output: () => string }> {
  const [cmd = '', ...rest] = SKIFF;
  const child = spawn(cmd, [...rest, 'up', 'mesh', '--ingress-port', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const file = meshFileIn(dir);
  let record: MeshRecord | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`skiff up exited ${child.exitCode}:\n${output}`);
      if (!existsSync(file)) return false;
      record = readMeshRecord(file);
      return record.launcherPid === child.pid;
    },
    { timeoutMs: START_TIMEOUT_MS, what: `skiff up in ${dir}` },
  );
  return { child, record: record!, output: () => output };
}

describe('skiff up: a mesh from a directory', () => {
  let dir = '';
  let mesh: Mesh | undefined;
  let record: MeshRecord;

  before(async () => {
    dir = meshDir('skiff-up-a-');
    mesh = await startMesh({
      dir: path.join(dir, 'mesh'),
      cwd: dir,
      ingressPort: 0,
      skiffCommand: SKIFF,
      startTimeoutMs: START_TIMEOUT_MS,
      // Long enough that the crash test sees the instance unready before the restart.
      backoff: { initialMs: 1000 },
    });
    record = mesh.record;
  }, HOOK_TIMEOUT);

  after(async () => {
    await mesh?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, HOOK_TIMEOUT);

  // First, before anything else touches the mesh: startMesh resolves only once every proxy has
  // applied the push that made the instances endpoints, so the very first requests succeed.
  test('when startMesh resolves, the gateway already routes to every instance', async () => {
    const url = `${gatewayUrl(record)}/hello`;
    const versions = [];
    for (let i = 0; i < 30; i++) {
      const r = await get(url);
      assert.equal(r.status, 200, r.body);
      versions.push(/version (v\d)/.exec(r.body)?.[1]);
    }
    // Istio's default balancer (least request, ties broken at random) over the two instances:
    // thirty requests all missing one of them would take odds of about 1 in 10^9.
    assert.deepEqual([...new Set(versions)].sort(), ['v1', 'v2']);
  });

  test('the record lists each replica with its ports, and the gateway', () => {
    assert.deepEqual(
      record.instances.map((i) => [i.name, i.workloadName, i.namespace]),
      [
        ['echo-v1-0', 'echo-v1', 'default'],
        ['echo-v2-0', 'echo-v2', 'default'],
      ],
    );
    const ports = record.instances.flatMap((i) => [
      i.outboundPort,
      i.adminPort,
      ...i.ports.flatMap((p) => [p.appPort, p.listenPort]),
    ]);
    assert.equal(new Set(ports).size, ports.length, 'no port handed out twice');
    assert.equal(record.gateway.name, 'istio-ingressgateway-0');
    assert.equal(record.gateway.ports[0]?.port, 80);
    assert.match(record.gateway.urls[0] ?? '', /^http:\/\/localhost:\d+\/echo$/);
    assert.deepEqual(
      readMeshRecord(meshFileIn(dir)).instances.map((i) => i.name),
      ['echo-v1-0', 'echo-v2-0'],
    );
    assert.ok(instances(record).instances.every((i) => i.ready));
  });

  test('a request through the gateway reaches both versions of the workload', async () => {
    const url = `${gatewayUrl(record)}/hello`;
    await versionsUntil(
      () => get(url),
      (v) => v.includes('v1') && v.includes('v2'),
      'the gateway to answer from v1 and v2',
    );
  });

  test('skiff exec runs a command through the workload sidecar', async () => {
    // `echo` has no DNS name: only the sidecar, as HTTP proxy, can resolve it.
    const script = `
      const http = require('node:http');
      const proxy = new URL(process.env.HTTP_PROXY);
      http.get({ host: proxy.hostname, port: proxy.port, path: 'http://echo:8080/x', headers: { host: 'echo:8080' } }, (res) => {
        let body = ''; res.on('data', (c) => (body += c));
        res.on('end', () => { console.log(res.statusCode, body.trim(), process.env.SKIFF_INSTANCE); process.exit(7); });
      }).on('error', (e) => { console.error(e.message); process.exit(1); });`;
    // From a subdirectory: the CLI finds .skiff/mesh.json in a parent, as git does.
    const run = await skiff(['exec', 'echo-v1', '--', process.execPath, '-e', script], {
      cwd: path.join(dir, 'mesh'),
    });
    assert.equal(run.code, 7, run.stderr);
    assert.match(run.stdout, /^200 version v[12] from echo-v[12]-0 echo-v1-0$/m);
    const outbound = record.instances[0]!.outboundPort;
    const env = await skiff(
      ['exec', 'echo-v1', '--', process.execPath, '-p', 'process.env.http_proxy'],
      {
        cwd: dir,
      },
    );
    assert.equal(env.stdout.trim(), `http://127.0.0.1:${outbound}`);
  });

  test('skiff apply of a VirtualService takes effect, skiff delete undoes it', async () => {
    const file = path.join(dir, 'vs-echo.yaml');
    writeFileSync(file, VS_ALL_TO_V2);
    const applied = await skiff(['apply', '-f', file], { cwd: dir });
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout.trim(), 'virtualservice.networking.istio.io/echo created');
    const outbound = `http://127.0.0.1:${record.instances[0]!.outboundPort}`;
    await versionsUntil(
      () => get('http://echo:8080/', outbound),
      (v) => v.every((x) => x === 'v2'),
      'every request to go to v2',
    );
    const listed = await skiff(['get', 'vs'], { cwd: dir });
    assert.match(listed.stdout, /^default\s+echo\s+\[echo\]\s+applied$/m);
    assert.match(
      listed.stdout,
      /^default\s+front\s+\[front-gateway\]\s+\[\*\]\s+.*mesh\.yaml:\d+$/m,
    );
    const deleted = await skiff(['delete', '-f', file], { cwd: dir });
    assert.equal(deleted.stdout.trim(), 'virtualservice.networking.istio.io "echo" deleted');
    await versionsUntil(
      () => get('http://echo:8080/', outbound),
      (v) => v.includes('v1') && v.includes('v2'),
      'requests to spread over v1 and v2 again',
    );
  });

  test('skiff apply refuses an invalid resource with its problem line, exit 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, VS_ALL_TO_V2.replace('subset: v2', 'subset: v2\n          weight: fifty'));
    const run = await skiff(['apply', '-f', file], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /bad\.yaml:\d+: VirtualService default\/echo: spec\.http\[0\]\.route\[0\]\.weight: /,
    );
  });

  test('skiff proxy-status shows every proxy SYNCED', async () => {
    let last: Run | undefined;
    await waitFor(
      async () => {
        last = await skiff(['proxy-status'], { cwd: dir });
        const rows = last.stdout.trim().split('\n').slice(1);
        return (
          rows.length === 3 &&
          rows.every((r) => /^\S+\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s/.test(r))
        );
      },
      { timeoutMs: 60_000, what: 'every proxy SYNCED' },
    ).catch((err: Error) => assert.fail(`${err.message}\n${last?.stdout}${last?.stderr}`));
    for (const name of [
      'echo-v1-0.default',
      'echo-v2-0.default',
      'istio-ingressgateway-0.istio-system',
    ]) {
      assert.match(last!.stdout, new RegExp(`^${name.replace(/\./g, '\\.')}\\s`, 'm'));
    }
  });

  test('skiff proxy-config reads a sidecar admin config dump', async () => {
    const run = await skiff(['proxy-config', 'clusters', 'echo-v1-0'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^echo\.default\.svc\.cluster\.local\s+8080\s+v2\s+outbound\s+EDS/m);
    const json = await skiff(['proxy-config', 'listeners', 'echo-v1-0', '-o', 'json'], {
      cwd: dir,
    });
    assert.ok(JSON.parse(json.stdout)['dynamic_listeners'], json.stdout.slice(0, 300));
  });

  test('a crashed app is restarted, and its instance is unready while it is down', async () => {
    const app = mesh!.process('echo-v2-0')!;
    const before = app.pid!;
    // Read at the exit: the launcher has rewritten instances.json by then (same tick).
    const readyAtExit = new Promise<boolean | undefined>((resolve) =>
      app.once('exit', () =>
        resolve(instances(record).instances.find((i) => i.name === 'echo-v2-0')?.ready),
      ),
    );
    process.kill(-before, 'SIGKILL'); // the app's whole process group
    assert.equal(await readyAtExit, false);
    await waitFor(
      () =>
        app.pid !== undefined &&
        app.pid !== before &&
        instances(record).instances.every((i) => i.ready),
      { timeoutMs: 60_000, what: 'echo-v2-0 to come back' },
    );
    assert.equal(readMeshRecord(meshFileIn(dir)).instances[1]?.appPid, app.pid);
    await versionsUntil(
      () => get(`${gatewayUrl(record)}/again`),
      (v) => v.includes('v2'),
      'v2 to answer again',
    );
  });

  test('a second mesh runs side by side, and SIGTERM to skiff up leaves nothing behind', async () => {
    const dirB = meshDir('skiff-up-b-');
    try {
      const b = await skiffUp(dirB);
      assert.match(b.output(), /^echo-v1\s+echo-v1-0\s+default\s+\d+\s+\d+\s+\d+\s+\d+$/m);
      assert.match(b.output(), /Mesh: \.skiff\/mesh\.json/);
      await versionsUntil(
        () => get(`${gatewayUrl(b.record)}/b`),
        (v) => v.includes('v1'),
        'mesh B',
      );
      await versionsUntil(
        () => get(`${gatewayUrl(record)}/a`),
        (v) => v.includes('v1'),
        'mesh A',
      );
      assert.notEqual(b.record.gateway.ports[0]?.hostPort, record.gateway.ports[0]?.hostPort);
      const stateDir = b.record.stateDir;
      assert.ok(processesOf(stateDir).length >= 4, processesOf(stateDir).join('\n'));
      const exited = new Promise<number | null>((r) => b.child.once('exit', r));
      b.child.kill('SIGTERM');
      assert.equal(await exited, 0, b.output());
      assert.ok(!existsSync(meshFileIn(dirB)), 'mesh.json removed');
      // skiff up returned only after every process group was gone: check at once.
      assert.deepEqual(processesOf(stateDir), []);
      const stale = await skiff(['get', 'vs'], { cwd: dirB });
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /^skiff: no running mesh \(no \.skiff\/mesh\.json in /);
    } finally {
      rmSync(dirB, { recursive: true, force: true });
    }
  });

  test('no orphan survives a SIGKILLed skiff up; the mesh record is then reported stale', async () => {
    const dirC = meshDir('skiff-up-c-');
    try {
      const c = await skiffUp(dirC);
      const stateDir = c.record.stateDir;
      assert.ok(processesOf(stateDir).length >= 4);
      const exited = new Promise((r) => c.child.once('exit', r));
      c.child.kill('SIGKILL');
      await exited;
      await waitFor(() => processesOf(stateDir).length === 0, {
        timeoutMs: 30_000,
        what: `the processes of ${stateDir} to exit: ${processesOf(stateDir).join('; ')}`,
      });
      const stale = await skiff(['proxy-status'], { cwd: path.join(dirC, 'mesh') });
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /^skiff: no running mesh \(stale \.skiff\/mesh\.json/);
    } finally {
      rmSync(dirC, { recursive: true, force: true });
    }
  });

  test('a second skiff up in the same directory is refused while the first runs', async () => {
    const run = await skiff(['up', 'mesh', '--ingress-port', '0'], { cwd: dir });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^skiff: a mesh is already running from .* \(launcher pid \d+/m);
  });

  test('stop() leaves no process behind and removes the record', async () => {
    const stateDir = record.stateDir;
    await mesh!.stop();
    mesh = undefined;
    assert.deepEqual(processesOf(stateDir), []);
    assert.ok(!existsSync(meshFileIn(dir)));
  });
});
