// Envoy's network RBAC filter in front of a chain's terminal filter (tcp_proxy): each engine is
// evaluated when the connection is accepted (skiff knows every connection-level attribute then:
// addresses, ports, SNI, the verified peer), and a denied connection is closed before the
// terminal filter sees it, so not a byte reaches (nor is sent to) the upstream.
import type { Socket } from 'node:net';
import type { ConnectionInfo, NetworkFilter } from '../../../listeners/connection.js';
import { evaluate } from '../../../authz/matcher.js';
import { connectionAuthzRequest } from '../../../authz/request.js';
import type { NetworkRbacConfig } from './config.js';

export interface NetworkRbacStats {
  allowed: number;
  denied: number;
  shadow_allowed: number;
  shadow_denied: number;
}

export class NetworkRbacFilter implements NetworkFilter {
  readonly stats: NetworkRbacStats = { allowed: 0, denied: 0, shadow_allowed: 0, shadow_denied: 0 };

  constructor(
    readonly configs: readonly NetworkRbacConfig[],
    readonly inner: NetworkFilter,
  ) {}

  /** Whether the engines let the connection through. */
  allows(socket: Socket, conn: ConnectionInfo): boolean {
    const r = connectionAuthzRequest(socket, conn);
    for (const c of this.configs) {
      if (c.shadow) {
        if (evaluate(c.shadow, r).allowed) this.stats.shadow_allowed++;
        else this.stats.shadow_denied++;
      }
      if (!c.rules || c.rules.action === 'LOG') continue;
      if (!evaluate(c.rules, r).allowed) {
        this.stats.denied++;
        return false;
      }
      this.stats.allowed++;
    }
    return true;
  }

  onConnection(socket: Socket, conn: ConnectionInfo): void {
    if (this.allows(socket, conn)) {
      this.inner.onConnection(socket, conn);
      return;
    }
    socket.destroy();
  }

  drain(): void {
    this.inner.drain?.();
  }
}
