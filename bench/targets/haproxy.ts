// HAProxy as the peer of skiff's sidecar pair: two haproxy processes (outbound, taking
// forward-proxy form; inbound, in front of the app), one thread each, idle connections to the
// next hop reused by every request (http-reuse always), no logging.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Cleanup } from '../cleanup.js';
import { startDaemon, type Daemon } from './daemon.js';
import { startPair, type HopConfig, type PairOptions } from './pair.js';
import type { RunningTarget } from './types.js';

/**
 * One hop's haproxy.cfg. HAProxy forwards an absolute-form request line as it came; the
 * outbound hop rewrites it to origin form (`%[pathq]`: path and query) as a sidecar does.
 */
export function haproxyConfig(c: HopConfig & { originForm: boolean }): string {
  return `# Written by skiff's benchmark.
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  http-reuse always
frontend hop
  bind 127.0.0.1:${c.listenPort}
${c.originForm ? '  http-request set-uri %[pathq]\n' : ''}  default_backend next_hop
backend next_hop
  server next 127.0.0.1:${c.upstreamPort}
`;
}

async function startHaproxy(
  binary: string,
  label: 'outbound' | 'inbound',
  hop: HopConfig,
  cleanup: Cleanup,
): Promise<Daemon> {
  mkdirSync(hop.dir, { recursive: true });
  const conf = path.join(hop.dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfig({ ...hop, originForm: label === 'outbound' }));
  return startDaemon(
    {
      name: `haproxy-${label}`,
      // -db: stay in the foreground, one process (no master-worker).
      command: [binary, '-f', conf, '-db'],
      cwd: hop.dir,
      env: process.env,
      logFile: path.join(hop.dir, 'haproxy.log'),
      comm: 'haproxy',
      ports: [hop.listenPort],
    },
    cleanup,
  );
}

export function startHaproxyPair(o: PairOptions): Promise<RunningTarget> {
  return startPair('haproxy', o, (label, hop) => startHaproxy(o.binary, label, hop, o.cleanup));
}
