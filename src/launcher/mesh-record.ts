// The record of a running mesh (`.skiff/mesh.json`): what `skiff up` started and where, so that
// every other command finds the mesh from the directory it runs in, as git finds its repository.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { InboundPort } from '../xds/node.js';
import { LauncherError } from './errors.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import { pidAlive } from './pids.js';

export interface InstanceRecord {
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Per containerPort: the app's port and the sidecar's inbound listener. */
  readonly ports: readonly InboundPort[];
  /** The sidecar's outbound listener: the app's HTTP_PROXY. */
  readonly outboundPort: number;
  /** The sidecar's admin port. */
  readonly adminPort: number;
  /** The sidecar's merged metrics endpoint (Istio's 15020 /stats/prometheus). */
  readonly statusPort?: number;
  /** Group leaders (the app's is its orphan guard); refreshed when a process restarts. */
  readonly appPid?: number;
  readonly sidecarPid?: number;
  readonly appLog: string;
  readonly sidecarLog: string;
}

export interface GatewayRecord {
  readonly name: string;
  readonly namespace: string;
  readonly adminPort: number;
  /** The merged metrics endpoint (Istio's 15020 /stats/prometheus). */
  readonly statusPort?: number;
  readonly pid?: number;
  readonly log: string;
  /** Gateway server port → host port the router listens on. */
  readonly ports: readonly { readonly port: number; readonly hostPort: number }[];
  /** Where to point a browser, e.g. `http://localhost:8080/productpage`. */
  readonly urls: readonly string[];
}

export interface ControlPlaneRecord {
  readonly pid?: number;
  readonly grpcAddress: string;
  /** ADS and the CA over TLS (Istio's 15012): where a proxy started by hand connects. */
  readonly grpcTlsAddress?: string;
  /** The mesh's trust bundle, for `skiff proxy --ca-root-cert`. */
  readonly caRootCert?: string;
  readonly httpAddress: string;
  readonly log: string;
}

export interface MeshRecord {
  readonly version: 1;
  readonly launcherPid: number;
  /** The launcher's working directory: what relative paths in config sources are relative to. */
  readonly launcherCwd: string;
  /** The config directory `skiff up` was given (absolute). */
  readonly dir: string;
  readonly stateDir: string;
  readonly instancesFile: string;
  readonly startedAt: string;
  readonly controlPlane: ControlPlaneRecord;
  readonly instances: readonly InstanceRecord[];
  readonly gateway: GatewayRecord;
  /** Istio's egress gateway, when a Gateway selects it. */
  readonly egressGateway?: GatewayRecord;
}

export const MESH_DIR = '.skiff';
export const MESH_FILE_NAME = 'mesh.json';

/** `<dir>/.skiff/mesh.json`: where `skiff up` started from `dir` records its mesh. */
export function meshFileIn(dir: string): string {
  return path.join(dir, MESH_DIR, MESH_FILE_NAME);
}

export function writeMeshRecord(file: string, record: MeshRecord): void {
  writeJsonAtomic(file, record);
}

export function removeMeshRecord(file: string): void {
  rmSync(file, { force: true });
}

/** Reads and checks a record; throws ERR_BAD_RECORD. */
export function readMeshRecord(file: string): MeshRecord {
  let value: unknown;
  try {
    value = readJson(file);
  } catch (err) {
    throw new LauncherError('ERR_BAD_RECORD', `cannot read ${file}: ${(err as Error).message}`);
  }
  const r = value as Partial<MeshRecord> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    r.version !== 1 ||
    typeof r.launcherPid !== 'number' ||
    typeof r.controlPlane?.httpAddress !== 'string' ||
    !Array.isArray(r.instances)
  ) {
    throw new LauncherError('ERR_BAD_RECORD', `${file} is not a skiff mesh record`);
  }
  return r as MeshRecord;
}

/** The nearest `.skiff/mesh.json` in `start` or its parents; undefined when there is none. */
export function findMeshFile(start: string): string | undefined {
  let dir = path.resolve(start);
  while (true) {
    const file = meshFileIn(dir);
    if (existsSync(file)) return file;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface LocateOptions {
  /** Where to start looking (default: process.cwd()). */
  readonly cwd?: string;
  /** An explicit record (`--mesh FILE`); wins over the environment. */
  readonly meshFile?: string;
  /** Reads SKIFF_MESH (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LocatedMesh {
  readonly file: string;
  readonly record: MeshRecord;
}

/** The running mesh for a CLI command; throws ERR_NO_MESH or ERR_STALE_MESH. */
export function locateMesh(opts: LocateOptions = {}): LocatedMesh {
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.meshFile ?? (opts.env ?? process.env)['SKIFF_MESH'];
  const file = explicit ? path.resolve(cwd, explicit) : findMeshFile(cwd);
  if (!file) {
    throw new LauncherError(
      'ERR_NO_MESH',
      `no running mesh (no ${path.join(MESH_DIR, MESH_FILE_NAME)} in ${cwd} or its parents; start one with \`skiff up DIR\`)`,
    );
  }
  if (!existsSync(file)) {
    throw new LauncherError('ERR_NO_MESH', `no running mesh (${file} does not exist)`);
  }
  const record = readMeshRecord(file);
  if (!pidAlive(record.launcherPid)) {
    throw new LauncherError(
      'ERR_STALE_MESH',
      `no running mesh (stale ${path.join(MESH_DIR, MESH_FILE_NAME)}: launcher pid ${record.launcherPid} is gone; ${file})`,
    );
  }
  return { file, record };
}

/** The record in `file` when it names a launcher that is still alive; else undefined. */
export function recordsLiveMesh(file: string): MeshRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const record = readMeshRecord(file);
    return pidAlive(record.launcherPid) ? record : undefined;
  } catch {
    return undefined; // an unreadable record is no mesh
  }
}
