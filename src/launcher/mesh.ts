// `skiff up` as a library: loads a directory of YAML, starts the control plane, every Workload
// instance with its sidecar, and the ingress gateway, supervises them, and records the mesh.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadMeshConfigFile } from '../config/mesh-config-file.js';
import { loadConfigPaths } from '../config/parse.js';
import { DEFAULT_MESH_CONFIG, applyMeshConfig } from '../config/mesh-config.js';
import { meshConfigIn } from '../control-plane/model/mesh-config.js';
import { caDirIn, ROOT_CERT_FILE } from '../control-plane/ca/start.js';
import { loadOrCreateTokenKey, mintToken } from '../control-plane/ca/token.js';
import type { ConfigResource } from '../config/resource.js';
import { formatProblem } from '../config/resource.js';
import { analyzeConfig } from '../control-plane/model/analysis.js';
import type { ControlPlaneReady } from '../control-plane/options.js';
import { APPLIED_FILE } from '../control-plane/store/config-store.js';
import type { InstancesFile } from '../control-plane/registry/instances.js';
import type { BackoffOptions } from './backoff.js';
import type { ChildPaths } from './children.js';
import {
  LOOPBACK,
  appEnv,
  controlPlaneArgs,
  defaultSkiffCommand,
  proxyArgs,
  resolveCommand,
  routerArgs,
  sidecarArgs,
  tokenFile,
} from './children.js';
import { egressInbound, egressInstance, writeEgressService } from './egress.js';
import { ConfigRefusedError, LauncherError } from './errors.js';
import { gatewayUrls } from './gateway.js';
import { InstanceRunner } from './instance.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import { logTail } from './log-tail.js';
import type { MeshRecord } from './mesh-record.js';
import {
  MESH_DIR,
  MESH_FILE_NAME,
  meshFileIn,
  recordsLiveMesh,
  removeMeshRecord,
  writeMeshRecord,
} from './mesh-record.js';
import type { InstancePlan, MeshPlan } from './plan.js';
import { planMesh } from './plan.js';
import { PortAllocator, type PortAllocatorOptions } from './ports.js';
import { httpBase, httpJson, httpOk } from './probes.js';
import { SupervisedProcess, type ProcessSpec } from './process.js';
import { proxyTarget, writeScrapeTargets } from './scrape.js';
import { StateLock } from './state-lock.js';
import { waitFor } from './wait.js';

export interface MeshOptions {
  /** The directory (or file) of YAML to run. */
  readonly dir: string;
  /** Where `.skiff/mesh.json` is written, and what relative paths mean (default: process.cwd()). */
  readonly cwd?: string;
  /** Logs, instances file, control plane state (default: `<cwd>/.skiff`). */
  readonly stateDir?: string;
  /** Host port of the first Gateway server port; 0 picks a free one. */
  readonly ingressPort?: number;
  /** Istio's MeshConfig YAML for the control plane (`--mesh-config`), checked before anything starts. */
  readonly meshConfigFile?: string;
  /** Every child's output line, prefixed `[name] ` (the terminal, with --verbose). */
  readonly echo?: (line: string) => void;
  /** How to start skiff itself (default: defaultSkiffCommand()); tests pass a tsx form. */
  readonly skiffCommand?: readonly string[];
  /** Deadline for the control plane, then for every instance, to come up (default 60 s). */
  readonly startTimeoutMs?: number;
  /** Keep running when some instance is not ready by the deadline (default: fail). */
  readonly allowUnready?: boolean;
  readonly ports?: PortAllocatorOptions;
  readonly backoff?: BackoffOptions;
  /** The environment children inherit (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Aborts the start (what was started is stopped, startMesh rejects). */
  readonly signal?: AbortSignal;
}

export interface NotReady {
  readonly name: string;
  readonly problem: string;
  readonly log: string;
}

export interface Mesh {
  /** What `.skiff/mesh.json` holds (pids refreshed on restarts). */
  readonly record: MeshRecord;
  readonly meshFiles: readonly string[];
  /** Config warnings, formatted as `skiff validate` prints them. */
  readonly warnings: readonly string[];
  /** Instances that were not ready by the deadline (only with allowUnready). */
  readonly notReady: readonly NotReady[];
  /** A supervised process: `control-plane`, `<instance>`, `<instance>.sidecar`, the gateway's name. */
  process(name: string): SupervisedProcess | undefined;
  /** TERM to every process group, KILL after 5 s, then the record is removed. */
  stop(): Promise<void>;
}

/** Starts a mesh; throws ConfigRefusedError, or LauncherError (after stopping what it started). */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const stateDir = path.resolve(cwd, opts.stateDir ?? MESH_DIR);
  // Paths in problems and in `skiff get` read best as the user would type them.
  const configArg = displayPath(path.resolve(cwd, opts.dir));
  const { resources, problems } = await loadConfigPaths([configArg]);
  const meshConfigFile = opts.meshConfigFile ? path.resolve(cwd, opts.meshConfigFile) : undefined;
  let baseMesh = DEFAULT_MESH_CONFIG;
  if (meshConfigFile) {
    const loaded = await loadMeshConfigFile(meshConfigFile);
    problems.push(...loaded.problems);
    baseMesh = applyMeshConfig(baseMesh, loaded.overlay);
  }
  // As the control plane's CA reads it at start: the file, then the `istio` ConfigMap.
  const trustDomain = meshConfigIn(resources, baseMesh).trustDomain;
  if (problems.some((p) => p.severity === 'error')) {
    throw new ConfigRefusedError(problems.map(formatProblem));
  }
  const meshFiles = [...new Set([meshFileIn(cwd), path.join(stateDir, MESH_FILE_NAME)])];
  refuseLiveMesh(meshFiles);
  mkdirSync(stateDir, { recursive: true });
  const lock = StateLock.acquire(stateDir);
  // Records left by a launcher that died: nobody should mistake them for this mesh.
  for (const file of meshFiles) removeMeshRecord(file);
  // A new mesh starts from its directory alone: what `skiff apply` added lives as long as the
  // mesh that took it (a control plane restart keeps it), as a cluster's objects do.
  rmSync(path.join(stateDir, APPLIED_FILE), { force: true });
  const ports = new PortAllocator(opts.ports);
  let plan: MeshPlan;
  try {
    plan = await planMesh(resources, {
      ports,
      ...(opts.ingressPort !== undefined ? { ingressPort: opts.ingressPort } : {}),
      baseDir: process.cwd(),
    });
    // Every proxy gets its identity from the control plane's CA and its xDS over TLS (15012).
    plan = {
      ...plan,
      security: {
        rootCertFile: path.join(caDirIn(stateDir), ROOT_CERT_FILE),
        tokensDir: path.join(stateDir, 'tokens'),
        trustDomain,
      },
    };
  } catch (err) {
    ports.release();
    lock.release();
    throw err;
  }
  // What Istio's install would add: the egress gateway's Service, when the gateway runs.
  const builtinDir = path.join(stateDir, 'builtin');
  rmSync(builtinDir, { recursive: true, force: true });
  const egressService = plan.egress
    ? writeEgressService(builtinDir, plan.egress, resources)
    : undefined;
  const run = new MeshRun({
    opts,
    plan,
    resources,
    paths: {
      stateDir,
      configArg,
      instancesFile: path.join(stateDir, 'instances.json'),
      ...(egressService ? { builtinConfig: [displayPath(egressService)] } : {}),
      ...(meshConfigFile ? { meshConfigFile } : {}),
    },
    dir: path.resolve(cwd, opts.dir),
    meshFiles,
    warnings: [...problems, ...analyzeConfig(resources).map((f) => f.problem)].map(formatProblem),
    release: () => {
      ports.release();
      lock.release();
    },
  });
  try {
    await run.start();
  } catch (err) {
    await run.stop();
    throw err;
  }
  return run;
}

function refuseLiveMesh(meshFiles: readonly string[]): void {
  for (const file of meshFiles) {
    const live = recordsLiveMesh(file);
    if (live) {
      throw new LauncherError(
        'ERR_MESH_RUNNING',
        `a mesh is already running from ${live.dir} (launcher pid ${live.launcherPid}, ${file}); stop it first`,
      );
    }
  }
}

interface RunInit {
  readonly opts: MeshOptions;
  readonly plan: MeshPlan;
  readonly resources: readonly ConfigResource[];
  readonly paths: ChildPaths;
  readonly dir: string;
  readonly meshFiles: readonly string[];
  readonly warnings: readonly string[];
  /** Gives back the port claims and the state dir lock. */
  readonly release: () => void;
}

class MeshRun implements Mesh {
  readonly meshFiles: readonly string[];
  readonly warnings: readonly string[];
  notReady: NotReady[] = [];
  private readonly plan: MeshPlan;
  private readonly procs = new Map<string, SupervisedProcess>();
  private readonly runners: InstanceRunner[] = [];
  private readonly startedAt = new Date().toISOString();
  private cpReady: ControlPlaneReady | undefined;
  /** The egress gateway's proxy has its config: its Service has it as endpoint. */
  private egressReady = false;
  /** Of the instances file last written (the control plane reports the one it pushed). */
  private instancesGeneration = 0;
  private recorded = false;
  private stopping: Promise<void> | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly skiff: readonly string[];
  private readonly timeoutMs: number;
  /** Signs each proxy's bootstrap token (`<state>/ca/token-key`, shared with the CA). */
  private tokenKey: Uint8Array | undefined;

  constructor(private readonly init: RunInit) {
    this.plan = init.plan;
    this.meshFiles = init.meshFiles;
    this.warnings = init.warnings;
    // SKIFF_STATE_DIR marks every process of this mesh (and is how tests find stragglers).
    this.env = { ...(init.opts.env ?? process.env), SKIFF_STATE_DIR: init.paths.stateDir };
    this.skiff = init.opts.skiffCommand ?? defaultSkiffCommand();
    this.timeoutMs = init.opts.startTimeoutMs ?? 60_000;
  }

  process(name: string): SupervisedProcess | undefined {
    return this.procs.get(name);
  }

  get record(): MeshRecord {
    const { plan } = this;
    const pid = (name: string): { pid?: number } => {
      const p = this.procs.get(name)?.pid;
      return p !== undefined ? { pid: p } : {};
    };
    return {
      version: 1,
      launcherPid: process.pid,
      launcherCwd: process.cwd(),
      dir: this.init.dir,
      stateDir: this.init.paths.stateDir,
      instancesFile: this.init.paths.instancesFile,
      startedAt: this.startedAt,
      controlPlane: {
        ...pid('control-plane'),
        grpcAddress: this.cpReady?.grpcAddress ?? `${LOOPBACK}:${plan.grpcPort}`,
        grpcTlsAddress: this.cpReady?.grpcTlsAddress ?? `${LOOPBACK}:${plan.grpcTlsPort}`,
        ...(plan.security ? { caRootCert: plan.security.rootCertFile } : {}),
        httpAddress: this.cpReady?.httpAddress ?? `${LOOPBACK}:${plan.httpPort}`,
        log: this.logFile('control-plane'),
      },
      instances: this.runners.map((r) => ({
        name: r.plan.name,
        namespace: r.plan.namespace,
        workloadName: r.plan.workloadName,
        serviceAccount: r.plan.serviceAccount,
        labels: r.plan.labels,
        ports: r.plan.ports,
        outboundPort: r.plan.outboundPort,
        adminPort: r.plan.adminPort,
        statusPort: r.plan.statusPort,
        ...(r.app.pid !== undefined ? { appPid: r.app.pid } : {}),
        ...(r.sidecar.pid !== undefined ? { sidecarPid: r.sidecar.pid } : {}),
        appLog: r.app.spec.logFile,
        sidecarLog: r.sidecar.spec.logFile,
      })),
      gateway: {
        name: plan.gateway.name,
        namespace: plan.gateway.namespace,
        adminPort: plan.gateway.adminPort,
        statusPort: plan.gateway.statusPort,
        ...pid(plan.gateway.name),
        log: this.logFile(plan.gateway.name),
        ports: plan.gateway.ports,
        urls: gatewayUrls(this.init.resources, plan.gateway.ports),
      },
      ...(plan.egress
        ? {
            egressGateway: {
              name: plan.egress.name,
              namespace: plan.egress.namespace,
              adminPort: plan.egress.adminPort,
              statusPort: plan.egress.statusPort,
              ...pid(plan.egress.name),
              log: this.logFile(plan.egress.name),
              ports: plan.egress.ports,
              urls: [],
            },
          }
        : {}),
    };
  }

  async start(): Promise<void> {
    const { stateDir } = this.init.paths;
    rmSync(path.join(stateDir, 'logs'), { recursive: true, force: true });
    mkdirSync(path.join(stateDir, 'run'), { recursive: true });
    rmSync(path.join(stateDir, 'control-plane.json'), { force: true });
    this.tokenKey = loadOrCreateTokenKey(caDirIn(stateDir));
    const tokensDir = this.plan.security?.tokensDir;
    if (tokensDir) {
      rmSync(tokensDir, { recursive: true, force: true });
      mkdirSync(tokensDir, { recursive: true, mode: 0o700 });
    }
    for (const inst of this.plan.instances) this.runners.push(this.instanceRunner(inst));
    this.writeInstances(); // all unready: the control plane starts with no endpoints
    this.writeScrapeTargets();
    await this.startControlPlane();
    const gw = this.plan.gateway.name;
    this.supervise(
      this.proxyChild(this.plan.gateway, routerArgs(this.plan, this.readyFile(gw))),
    ).start();
    this.startEgressGateway();
    for (const runner of this.runners) runner.start();
    await this.waitForGateway();
    await this.waitForEgressGateway();
    await this.waitForInstances();
    await this.waitForPush();
    this.recorded = true;
    this.writeRecord();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.procs.values()].map((p) => p.stop()));
      for (const file of this.meshFiles) removeMeshRecord(file);
      this.init.release();
    })();
    return this.stopping;
  }

  private abortable(): { signal?: AbortSignal } {
    return this.init.opts.signal ? { signal: this.init.opts.signal } : {};
  }

  private logFile(name: string): string {
    return path.join(this.init.paths.stateDir, 'logs', `${name}.log`);
  }

  private readyFile(name: string): string {
    return path.join(this.init.paths.stateDir, 'run', `${name}.json`);
  }

  private supervise(spec: ProcessSpec): SupervisedProcess {
    const { echo, backoff } = this.init.opts;
    const proc = new SupervisedProcess(spec, {
      ...(echo ? { echo } : {}),
      ...(backoff ? { backoff } : {}),
    });
    this.procs.set(spec.name, proc);
    // Restarts change pids: keep mesh.json current for the CLI.
    proc.on('start', () => {
      if (this.recorded && !this.stopping) this.writeRecord();
    });
    return proc;
  }

  /** skiff's own children watch their stdin (--exit-with-parent) to die with the launcher. */
  private skiffChild(name: string, args: readonly string[]): ProcessSpec {
    return {
      name,
      command: [...this.skiff, ...args, '--exit-with-parent'],
      cwd: process.cwd(),
      env: this.env,
      logFile: this.logFile(name),
    };
  }

  /**
   * A proxy child: before each start, a fresh bootstrap token for its namespace and service
   * account goes to its token file (0600); tokens are short-lived, so a restart needs a new one.
   */
  private proxyChild(
    p: { name: string; namespace: string; serviceAccount: string },
    args: readonly string[],
    processName = p.name,
  ): ProcessSpec {
    const spec = this.skiffChild(processName, args);
    const sec = this.plan.security;
    const key = this.tokenKey;
    if (!sec || !key) return spec;
    const file = tokenFile(sec.tokensDir, p.name);
    return {
      ...spec,
      beforeStart: () => {
        const token = mintToken(key, { namespace: p.namespace, serviceAccount: p.serviceAccount });
        const tmp = `${file}.tmp`;
        rmSync(tmp, { force: true });
        writeFileSync(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
        renameSync(tmp, file);
      },
    };
  }

  private instanceRunner(inst: InstancePlan): InstanceRunner {
    const sidecarName = `${inst.name}.sidecar`;
    const sidecar = this.supervise(
      this.proxyChild(inst, sidecarArgs(inst, this.plan, this.readyFile(sidecarName)), sidecarName),
    );
    const app = this.supervise({
      name: inst.name,
      command: resolveCommand(inst.command),
      cwd: inst.cwd,
      env: appEnv(this.env, inst, this.init.paths.stateDir),
      logFile: this.logFile(inst.name),
      guard: true, // apps know nothing of skiff: the guard ends them when we die
    });
    const runner = new InstanceRunner(inst, app, sidecar);
    runner.on('ready', () => {
      if (!this.stopping) this.writeInstances();
    });
    return runner;
  }

  /** The instances file the control plane watches; replaced whole, atomically. */
  private writeInstances(): void {
    const instances = this.runners.map((r) => r.toInstance());
    const egress = this.plan.egress;
    if (egress) instances.push(egressInstance(egress, this.init.resources, this.egressReady));
    const file: InstancesFile = { instances, generation: ++this.instancesGeneration };
    writeJsonAtomic(this.init.paths.instancesFile, file);
  }

  /** What the control plane's Prometheus service discovery lists: every proxy's merged endpoint. */
  private writeScrapeTargets(): void {
    const { plan } = this;
    const proxies = [
      ...plan.instances.filter((i) => i.scrape),
      plan.gateway,
      ...(plan.egress ? [plan.egress] : []),
    ];
    writeScrapeTargets(this.init.paths.stateDir, proxies.map(proxyTarget));
  }

  /** The egress gateway: a router announcing its server ports as its Service's target ports. */
  private startEgressGateway(): void {
    const egress = this.plan.egress;
    if (!egress) return;
    const args = proxyArgs(egress, 'router', this.plan, this.readyFile(egress.name));
    for (const p of egressInbound(egress, this.init.resources))
      args.push('--inbound', `${p.containerPort}:${p.name}:${p.listenPort}:${p.appPort}`);
    const proc = this.supervise(this.proxyChild(egress, args));
    // While it is down it is no endpoint of its Service; back up, it is once it has its config.
    proc.on('exit', () => this.setEgressReady(false));
    proc.on('start', () => {
      if (this.egressReady || !this.recorded) return;
      const admin = `http://${LOOPBACK}:${egress.adminPort}/ready`;
      void waitFor(() => httpOk(admin), { timeoutMs: this.timeoutMs, what: 'the egress gateway' })
        .then(() => this.setEgressReady(true))
        .catch(() => undefined);
    });
    proc.start();
  }

  private setEgressReady(ready: boolean): void {
    if (this.egressReady === ready || this.stopping) return;
    this.egressReady = ready;
    this.writeInstances();
  }

  private async waitForEgressGateway(): Promise<void> {
    const egress = this.plan.egress;
    if (!egress) return;
    const admin = `http://${LOOPBACK}:${egress.adminPort}/ready`;
    await this.waitOrExplain(egress.name, `the egress gateway (${admin})`, () => httpOk(admin));
    this.setEgressReady(true);
  }

  private writeRecord(): void {
    const record = this.record;
    for (const file of this.meshFiles) writeMeshRecord(file, record);
  }

  private async startControlPlane(): Promise<void> {
    const name = 'control-plane';
    this.supervise(this.skiffChild(name, controlPlaneArgs(this.plan, this.init.paths))).start();
    const readyFile = path.join(this.init.paths.stateDir, 'control-plane.json');
    await this.waitOrExplain(name, 'the control plane', async () => {
      if (!existsSync(readyFile)) return false;
      try {
        this.cpReady = readJson(readyFile) as ControlPlaneReady;
      } catch {
        return false; // being written
      }
      return httpOk(`${httpBase(this.cpReady.httpAddress)}/ready`);
    });
  }

  private async waitForGateway(): Promise<void> {
    const gw = this.plan.gateway;
    const admin = `http://${LOOPBACK}:${gw.adminPort}/ready`;
    await this.waitOrExplain(gw.name, `the ingress gateway (${admin})`, () => httpOk(admin));
  }

  /** Waits for `check`; on timeout, the error quotes the end of the process's log. */
  private async waitOrExplain(
    name: string,
    what: string,
    check: () => boolean | Promise<boolean>,
  ): Promise<void> {
    await waitFor(check, { timeoutMs: this.timeoutMs, what, ...this.abortable() }).catch(
      (err: Error) => {
        if (!(err instanceof LauncherError)) throw err; // aborted
        const log = this.logFile(name);
        throw new LauncherError('ERR_START_TIMEOUT', `${err.message}; see ${log}${logTail(log)}`);
      },
    );
  }

  /**
   * Ready instances are endpoints only once the control plane has read the instances file and
   * every proxy has applied the push: until then the gateway may still answer "no healthy
   * upstream". Waits for both.
   */
  private async waitForPush(): Promise<void> {
    const want = this.instancesGeneration;
    const proxies = this.runners.length + 1 + (this.plan.egress ? 1 : 0);
    const everyOne = this.notReady.length === 0;
    const url = `${httpBase(this.cpReady?.httpAddress ?? `${LOOPBACK}:${this.plan.httpPort}`)}/debug/sync`;
    await this.waitOrExplain(
      'control-plane',
      'every proxy to apply the running instances',
      async () => {
        const sync = (await httpJson(url)) as SyncStatus | undefined;
        return (
          !!sync &&
          sync.instancesGeneration >= want &&
          (!everyOne || sync.proxies.length >= proxies) &&
          sync.proxies.every((p) => p.settled)
        );
      },
    );
  }

  private async waitForInstances(): Promise<void> {
    await waitFor(() => this.runners.every((r) => r.ready), {
      timeoutMs: this.timeoutMs,
      what: 'every instance',
      ...this.abortable(),
    }).catch((err: Error) => {
      if (!(err instanceof LauncherError)) throw err; // aborted
    });
    this.notReady = this.runners
      .filter((r) => !r.ready)
      .map((r) => ({ name: r.plan.name, problem: r.lastProblem, log: r.app.spec.logFile }));
    if (this.notReady.length === 0 || this.init.opts.allowUnready) return;
    const lines = this.notReady.map(
      (n) => `  ${n.name}: ${n.problem} (see ${n.log})${logTail(n.log, 5)}`,
    );
    throw new LauncherError(
      'ERR_START_TIMEOUT',
      `${this.notReady.length} instance(s) not ready after ${this.timeoutMs} ms:\n${lines.join('\n')}`,
    );
  }
}

/** GET /debug/sync of the control plane. */
interface SyncStatus {
  readonly instancesGeneration: number;
  readonly proxies: readonly { readonly id: string; readonly settled: boolean }[];
}

function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}
