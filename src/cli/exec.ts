// `skiff exec WORKLOAD -- CMD ARGS...`: runs a command as if inside that workload: with its
// sidecar as HTTP proxy, so `curl http://reviews:9080/...` goes through the mesh and its rules.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { InstancesFile } from '../control-plane/registry/instances.js';
import { instanceEnv } from '../launcher/children.js';
import { readJson } from '../launcher/json-file.js';
import type { InstanceRecord, MeshRecord } from '../launcher/mesh-record.js';
import { CliError, UsageError, type CliIO } from './io.js';
import { currentMesh, type MeshFlags } from './mesh-client.js';

export interface ExecFlags extends MeshFlags {
  namespace?: string;
}

/** The first ready instance of a workload (or the instance itself, by name). */
export function pickInstance(
  record: MeshRecord,
  ready: ReadonlySet<string>,
  target: string,
  namespace?: string,
): InstanceRecord {
  const inNs = (i: InstanceRecord): boolean => !namespace || i.namespace === namespace;
  const byName = record.instances.filter((i) => i.name === target && inNs(i));
  const candidates = byName.length
    ? byName
    : record.instances.filter((i) => i.workloadName === target && inNs(i));
  if (candidates.length === 0) {
    const workloads = [...new Set(record.instances.map((i) => i.workloadName))].sort();
    throw new CliError(
      'ERR_NOT_FOUND',
      `no workload or instance named ${target} (workloads: ${workloads.join(', ') || 'none'})`,
    );
  }
  const first = candidates.find((i) => ready.has(`${i.namespace}/${i.name}`));
  if (!first) {
    throw new CliError(
      'ERR_NOT_READY',
      `no ready instance of ${target} (${candidates.map((i) => i.name).join(', ')} not ready)`,
    );
  }
  return first;
}

function readyInstances(record: MeshRecord): Set<string> {
  let file: InstancesFile;
  try {
    file = readJson(record.instancesFile) as InstancesFile;
  } catch (err) {
    throw new CliError(
      'ERR_NO_MESH',
      `cannot read ${record.instancesFile}: ${(err as Error).message}`,
    );
  }
  return new Set(file.instances.filter((i) => i.ready).map((i) => `${i.namespace}/${i.name}`));
}

export async function exec(
  target: string,
  command: string[],
  flags: ExecFlags,
  _io: CliIO,
): Promise<number> {
  if (command.length === 0)
    throw new UsageError('give a command: skiff exec WORKLOAD -- CMD ARGS...');
  const { record } = currentMesh(flags);
  const inst = pickInstance(record, readyInstances(record), target, flags.namespace);
  const [file = '', ...args] = command;
  const child = spawn(file, args, {
    stdio: 'inherit',
    env: { ...process.env, ...instanceEnv(inst, inst.outboundPort) },
  });
  // The terminal's Ctrl-C reaches the child too (same process group); we only wait for it.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new CliError('ERR_EXEC', `${file}: ${err.message}`)));
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}
