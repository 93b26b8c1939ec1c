// Listeners at run time: one server socket per address; an LDS update keeps sockets whose
// address did not change and swaps their filter chain in place, so no connection is dropped.
import http from 'node:http';
import type { Socket } from 'node:net';
import { HttpConnectionManager } from '../filters/network/http_connection_manager/filter.js';
import type { HcmDeps } from '../filters/network/http_connection_manager/filter.js';
import type { ListenerConfig } from './listener-config.js';
import { ListenerStats } from './listener-stats.js';

// Envoy's defaults: 60 KiB of request headers, one hour idle connections.
const MAX_HEADER_BYTES = 60 * 1024;
const IDLE_TIMEOUT_MS = 3600_000;

class ActiveListener {
  readonly stats = new ListenerStats();
  hcm: HttpConnectionManager;
  config: ListenerConfig;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor(config: ListenerConfig, deps: Omit<HcmDeps, 'stats'>) {
    this.config = config;
    this.hcm = this.makeHcm(config, deps);
    this.server = http.createServer(
      { maxHeaderSize: MAX_HEADER_BYTES, keepAlive: true, noDelay: true },
      (req, res) => this.hcm.handle(req, res),
    );
    this.server.keepAliveTimeout = IDLE_TIMEOUT_MS;
    this.server.on('connection', (socket: Socket) => {
      this.stats.downstream_cx_total++;
      this.stats.downstream_cx_active++;
      this.sockets.add(socket);
      socket.once('close', () => {
        this.stats.downstream_cx_active--;
        this.sockets.delete(socket);
      });
    });
  }

  makeHcm(config: ListenerConfig, deps: Omit<HcmDeps, 'stats'>): HttpConnectionManager {
    const chain = config.filterChains[0];
    if (!chain) throw new Error(`listener ${config.name} has no filter chain`);
    return new HttpConnectionManager(chain.hcm, { ...deps, stats: this.stats }, config.name);
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.config.port, this.config.address, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stops accepting; open connections finish their requests, idle ones close now. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  /** Closes everything at once (proxy shutdown after its drain period). */
  destroy(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }

  get boundPort(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
}

export class ListenerManager {
  private active = new Map<string, ActiveListener>(); // by address:port

  constructor(private readonly deps: Omit<HcmDeps, 'stats'>) {}

  /**
   * Applies a full LDS state of the world. Resolves with the errors of listeners that could not
   * bind (the caller NACKs with them); every other listener is in force.
   */
  async apply(configs: readonly ListenerConfig[]): Promise<string[]> {
    const errors: string[] = [];
    const next = new Map<string, ActiveListener>();
    const toClose: ActiveListener[] = [];
    for (const config of configs) {
      const key = `${config.address}:${config.port}`;
      const existing = this.active.get(key);
      if (existing) {
        existing.hcm = existing.makeHcm(config, this.deps);
        existing.config = config;
        next.set(key, existing);
        continue;
      }
      const listener = new ActiveListener(config, this.deps);
      try {
        await listener.listen();
        next.set(key, listener);
      } catch (e) {
        errors.push(`Listener ${config.name}: cannot bind ${key}: ${(e as Error).message}`);
      }
    }
    for (const [key, l] of this.active) if (!next.has(key)) toClose.push(l);
    this.active = next;
    await Promise.all(toClose.map((l) => l.close()));
    return errors;
  }

  listeners(): { name: string; address: string; port: number; stats: ListenerStats }[] {
    return [...this.active.values()].map((l) => ({
      name: l.config.name,
      address: l.config.address,
      port: l.boundPort,
      stats: l.stats,
    }));
  }

  /** Route configuration names the listeners take from RDS. */
  rdsNames(): string[] {
    const names = new Set<string>();
    for (const l of this.active.values()) {
      for (const fc of l.config.filterChains)
        if (fc.hcm.routes.kind === 'rds') names.add(fc.hcm.routes.name);
    }
    return [...names].sort();
  }

  async close(drainMs: number): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    let timer: NodeJS.Timeout | undefined;
    const drained = Promise.all(all.map((l) => l.close()));
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([drained, deadline]);
    if (timer) clearTimeout(timer);
    for (const l of all) l.destroy();
  }
}
