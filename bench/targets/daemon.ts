// Starts a long-running peer (the app, nginx, haproxy) under the launcher's supervision (its own
// process group, the orphan guard, TERM then KILL) and waits until it accepts on its ports.
import { logTail } from '../../src/launcher/log-tail.js';
import { tcpAccepts } from '../../src/launcher/probes.js';
import { SupervisedProcess, type ProcessSpec } from '../../src/launcher/process.js';
import { waitFor } from '../../src/launcher/wait.js';
import type { Cleanup } from '../cleanup.js';
import { groupProcesses } from '../procfs.js';

export interface DaemonSpec extends Omit<ProcessSpec, 'guard'> {
  /** The executable name (`comm`) of the processes to measure within the group. */
  readonly comm: string;
  /** Ports it listens on once up. */
  readonly ports: readonly number[];
  /** How many `comm` processes it runs once up (nginx: master and worker; default 1). */
  readonly processes?: number;
}

export interface Daemon {
  /** The processes named `comm` in its group, e.g. nginx's master and worker. */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

export class DaemonError extends Error {
  readonly code = 'ERR_DAEMON_START';
}

const START_TIMEOUT_MS = 15_000;

export async function startDaemon(spec: DaemonSpec, cleanup: Cleanup): Promise<Daemon> {
  const proc = new SupervisedProcess({ ...spec, guard: true }, { restart: false });
  const { now: stop } = cleanup.add(spec.name, () => proc.stop());
  proc.start();
  const fail = async (why: string): Promise<never> => {
    await stop();
    throw new DaemonError(`${spec.name} ${why}; see ${spec.logFile}${logTail(spec.logFile)}`);
  };
  try {
    await waitFor(
      async () => {
        if (proc.state !== 'running') throw new DaemonError('exited');
        for (const port of spec.ports) if (!(await tcpAccepts('127.0.0.1', port))) return false;
        // nginx's master listens before it forks the worker: wait for the whole set.
        return groupProcesses(proc.pid ?? 0, spec.comm).length >= (spec.processes ?? 1);
      },
      {
        timeoutMs: START_TIMEOUT_MS,
        what: `${spec.name} to accept on ${spec.ports.join(', ')}`,
        signal: cleanup.interrupted,
      },
    );
  } catch (err) {
    return fail(err instanceof DaemonError ? 'exited at start' : (err as Error).message);
  }
  return { pids: groupProcesses(proc.pid ?? 0, spec.comm), stop };
}
