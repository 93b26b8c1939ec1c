// TCP keepalive on upstream sockets, as the cluster's upstream_connection_options.tcp_keepalive
// says: SO_KEEPALIVE with keepalive_time (Node's setKeepAlive), and keepalive_interval and
// keepalive_probes (TCP_KEEPINTVL, TCP_KEEPCNT), which Node cannot set, through skiff's native
// addon (native/keepalive.c, built by `npm run build`). Without the addon the proxy does not
// start: a cluster's keepalive would silently be the kernel's.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { TcpKeepalive } from './cluster-config.js';

export interface KeepAliveParams {
  readonly enabled: boolean;
  readonly timeSec: number;
  readonly intervalSec: number;
  readonly probes: number;
}

interface Addon {
  setKeepAliveParams(fd: number, timeSec: number, intervalSec: number, probes: number): void;
  getKeepAliveParams(fd: number): KeepAliveParams;
  getKeepAliveParamsOf(pid: number, fd: number): KeepAliveParams;
}

export class KeepaliveAddonMissingError extends Error {
  constructor(paths: string[]) {
    super(
      `skiff: the native keepalive addon is missing (looked for ${paths.join(', ')}); run ` +
        '`npm run build` to build it',
    );
  }
}

// From source (tsx) native/ is three levels up; from dist/src/proxy/upstream/, four.
const CANDIDATES = [
  new URL('../../../native/build/Release/skiff_keepalive.node', import.meta.url),
  new URL('../../../../native/build/Release/skiff_keepalive.node', import.meta.url),
];

function load(): Addon {
  const found = CANDIDATES.find((u) => existsSync(u));
  if (!found) throw new KeepaliveAddonMissingError(CANDIDATES.map((u) => u.pathname));
  return createRequire(import.meta.url)(found.pathname) as Addon;
}

const addon = load();

// Linux's ceilings (include/net/tcp.h): larger values are EINVAL.
const MAX_TCP_KEEPIDLE = 32767;
const MAX_TCP_KEEPINTVL = 32767;
const MAX_TCP_KEEPCNT = 127;

const clamp = (v: number, max: number) => Math.min(Math.max(0, Math.floor(v)), max);

/** The file descriptor under a connected net.Socket (Linux: its libuv handle's). */
function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * SO_KEEPALIVE on `socket` as `k` says; values of 0 leave the kernel's. The idle time goes
 * through setKeepAlive (Node keeps it across connect), interval and probes through the addon
 * once the socket is connected. Call it on the raw TCP socket (under TLS, the one given to
 * tls.connect).
 */
export function applyKeepalive(socket: net.Socket, k: TcpKeepalive | undefined): void {
  if (!k) return;
  socket.setKeepAlive(true, Math.max(0, k.timeS) * 1000);
  if (k.intervalS <= 0 && k.probes <= 0) return;
  const apply = () => {
    const fd = socketFd(socket);
    if (fd === undefined || socket.destroyed) return;
    try {
      addon.setKeepAliveParams(
        fd,
        clamp(k.timeS, MAX_TCP_KEEPIDLE),
        clamp(k.intervalS, MAX_TCP_KEEPINTVL),
        clamp(k.probes, MAX_TCP_KEEPCNT),
      );
    } catch {
      // The socket closed under us (EBADF): nothing to keep alive.
    }
  };
  if (socket.connecting) socket.once('connect', apply);
  else apply();
}

/** The keepalive settings the kernel has for a socket (tests). */
export function keepaliveParams(socket: net.Socket): KeepAliveParams {
  const fd = socketFd(socket);
  if (fd === undefined) throw new Error('socket has no file descriptor');
  return addon.getKeepAliveParams(fd);
}

/** The same for descriptor `fd` of process `pid` (tests; needs ptrace rights over it). */
export function keepaliveParamsOf(pid: number, fd: number): KeepAliveParams {
  return addon.getKeepAliveParamsOf(pid, fd);
}
