// Port allocation for a mesh: ports handed to children that bind them later, never twice, and
// never to two meshes on one machine at once.
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LauncherError } from './errors.js';
import { pidAlive } from './pids.js';

export interface PortAllocatorOptions {
  /** Candidates are drawn from [min, max]. The default range sits below Linux's ephemeral range
   * (32768–60999, net.ipv4.ip_local_port_range) so that outgoing connections, which take their
   * source port from that range, cannot grab a port between our test bind and the child's bind. */
  readonly min?: number;
  readonly max?: number;
  /** Address the test bind uses; the mesh binds loopback. */
  readonly host?: string;
  /**
   * Folder of claim files (`<port>` holding the claimer's pid), shared by every launcher on the
   * machine so two meshes never hand out the same port; null disables cross-process claims.
   */
  readonly claimDir?: string | null;
  readonly maxAttempts?: number;
  readonly random?: () => number;
}

/** Per user: another user's launcher could not write here (and cannot bind our ports anyway). */
export const DEFAULT_CLAIM_DIR = path.join(
  os.tmpdir(),
  `skiff-ports-${process.getuid?.() ?? 'user'}`,
);

export class PortAllocator {
  private readonly given = new Set<number>();
  private readonly claimed = new Set<string>();
  private readonly min: number;
  private readonly max: number;
  private readonly host: string;
  private readonly claimDir: string | null;
  private readonly maxAttempts: number;
  private readonly random: () => number;

  constructor(opts: PortAllocatorOptions = {}) {
    this.min = opts.min ?? 20000;
    this.max = opts.max ?? 32767;
    this.host = opts.host ?? '127.0.0.1';
    this.claimDir = opts.claimDir === undefined ? DEFAULT_CLAIM_DIR : opts.claimDir;
    this.maxAttempts = opts.maxAttempts ?? 200;
    this.random = opts.random ?? Math.random;
    if (this.claimDir) {
      mkdirSync(this.claimDir, { recursive: true });
      sweepStaleClaims(this.claimDir);
    }
  }

  /** Every port handed out so far. */
  get ports(): readonly number[] {
    return [...this.given];
  }

  /** A port no one listens on, not handed out before; throws ERR_NO_FREE_PORT. */
  async allocate(): Promise<number> {
    for (let i = 0; i < this.maxAttempts; i++) {
      const port = this.min + Math.floor(this.random() * (this.max - this.min + 1));
      if (await this.take(port)) return port;
    }
    throw new LauncherError(
      'ERR_NO_FREE_PORT',
      `no free port in ${this.min}-${this.max} after ${this.maxAttempts} tries`,
    );
  }

  /** Takes a port the user asked for (e.g. a gateway's 8080); throws ERR_PORT_IN_USE. */
  async reserve(port: number, what: string): Promise<number> {
    if (await this.take(port)) return port;
    throw new LauncherError('ERR_PORT_IN_USE', `port ${port} (${what}) is in use`);
  }

  /** Gives up the cross-process claims (the ports stay "given" for this allocator). */
  release(): void {
    for (const file of this.claimed) {
      try {
        unlinkSync(file);
      } catch {
        // already gone: nothing to release
      }
    }
    this.claimed.clear();
  }

  private async take(port: number): Promise<boolean> {
    if (this.given.has(port)) return false;
    if (!this.claim(port)) return false;
    if (!(await canBind(this.host, port))) {
      this.unclaim(port);
      return false;
    }
    this.given.add(port);
    return true;
  }

  private claim(port: number): boolean {
    if (!this.claimDir) return true;
    const file = path.join(this.claimDir, String(port));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.claimed.add(file);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!claimIsStale(file)) return false;
        try {
          unlinkSync(file);
        } catch {
          // someone else removed it first; try again
        }
      }
    }
    return false;
  }

  private unclaim(port: number): void {
    if (!this.claimDir) return;
    const file = path.join(this.claimDir, String(port));
    if (this.claimed.delete(file)) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  }
}

/** Removes the claims of launchers that died without releasing them (SIGKILL). */
function sweepStaleClaims(dir: string): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (/^\d+$/.test(name) && claimIsStale(file)) rmSync(file, { force: true });
  }
}

/** A claim is stale when the pid it names is gone (a launcher that was SIGKILLed). */
function claimIsStale(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return false; // being written right now by its claimer
  }
  return !Number.isInteger(pid) || pid <= 0 || !pidAlive(pid);
}

/** True when `host:port` can be bound right now. */
export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
