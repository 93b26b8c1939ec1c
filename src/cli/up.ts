// `skiff up DIR`: runs a whole mesh from a directory of YAML until SIGINT/SIGTERM.
import path from 'node:path';
import type { Mesh } from '../launcher/mesh.js';
import { startMesh } from '../launcher/mesh.js';
import { renderMeshSummary } from '../launcher/table.js';
import { parsePort } from './flags.js';
import type { CliIO } from './io.js';

export interface UpFlags {
  stateDir?: string;
  ingressPort?: string;
  meshConfig?: string;
  verbose?: boolean;
}

export async function up(dir: string, flags: UpFlags, io: CliIO): Promise<number> {
  // A signal while the mesh starts aborts the start (startMesh stops what it started); once it
  // runs, a signal stops it.
  const abort = new AbortController();
  let stopRequested: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    abort.abort(new Error(`interrupted by ${signal}`));
    stopRequested(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    io.error(`skiff: starting the mesh in ${dir}`);
    let mesh: Mesh;
    try {
      mesh = await startMesh({
        dir,
        ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
        ...(flags.ingressPort !== undefined
          ? { ingressPort: parsePort(flags.ingressPort, '--ingress-port') }
          : {}),
        ...(flags.verbose ? { echo: (line: string) => io.log(line) } : {}),
        ...(flags.meshConfig ? { meshConfigFile: flags.meshConfig } : {}),
        allowUnready: true,
        signal: abort.signal,
      });
    } catch (err) {
      if (!abort.signal.aborted) throw err;
      io.error('skiff: interrupted while starting; everything it started is stopped');
      return 0;
    }
    printSummary(mesh, io);
    const signal = await stopped;
    io.error(`skiff: ${signal}: stopping the mesh`);
    await mesh.stop();
    const record = path.relative(process.cwd(), mesh.meshFiles[0] ?? '');
    io.error(`skiff: stopped (${record || 'mesh record'} removed)`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function printSummary(mesh: Mesh, io: CliIO): void {
  for (const line of mesh.warnings) io.error(line);
  for (const n of mesh.notReady) {
    io.error(`skiff: warning: ${n.name} is not ready: ${n.problem} (see ${n.log})`);
  }
  io.log(renderMeshSummary(mesh.record, mesh.meshFiles[0] ?? '', process.cwd()));
  io.log('');
  io.log('Press Ctrl-C to stop.');
}
