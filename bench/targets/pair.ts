// Two proxy processes in a row, as a sidecar pair: load → outbound → inbound → app. Used for
// the peers (nginx, haproxy); skiff's own pair comes from the launcher.
import path from 'node:path';
import type { PortAllocator } from '../../src/launcher/ports.js';
import type { Cleanup } from '../cleanup.js';
import type { Daemon } from './daemon.js';
import { PROXIED_URL, type RunningTarget, type TargetName } from './types.js';

export interface HopConfig {
  /** The folder the proxy keeps its config, pid, logs and temp files in. */
  readonly dir: string;
  readonly listenPort: number;
  readonly upstreamPort: number;
}

export interface PairOptions {
  /** The proxy's executable. */
  readonly binary: string;
  /** A folder of the run's temp dir; each hop gets a subfolder. */
  readonly dir: string;
  readonly appPort: number;
  readonly ports: PortAllocator;
  readonly cleanup: Cleanup;
}

export type StartHop = (label: 'outbound' | 'inbound', hop: HopConfig) => Promise<Daemon>;

export async function startPair(
  name: TargetName,
  o: PairOptions,
  startHop: StartHop,
): Promise<RunningTarget> {
  const outPort = await o.ports.allocate();
  const inPort = await o.ports.allocate();
  const hopDir = (label: string): string => path.join(o.dir, `${name}-${label}`);
  const inbound = await startHop('inbound', {
    dir: hopDir('inbound'),
    listenPort: inPort,
    upstreamPort: o.appPort,
  });
  const outbound = await startHop('outbound', {
    dir: hopDir('outbound'),
    listenPort: outPort,
    upstreamPort: inPort,
  });
  return {
    name,
    load: { connectUrl: `http://127.0.0.1:${outPort}`, proxiedUrl: PROXIED_URL },
    hops: [
      { label: 'outbound', pids: outbound.pids },
      { label: 'inbound', pids: inbound.pids },
    ],
    stop: async () => {
      await Promise.all([outbound.stop(), inbound.stop()]);
    },
  };
}
