// Upgrade requests (websocket, CONNECT, ...) as the codec hands them to the connection manager:
// Node parses their head but gives the raw socket away, so the codec keeps what the router needs
// to open the tunnel (the socket, bytes that came after the head, where internal listeners are).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { InternalHandoff } from '../../../listeners/connection.js';
import type { CodecOptions } from './codec-config.js';

export interface UpgradeRequest {
  /** Lower-cased: `websocket`, `connect`, or another Upgrade token. */
  readonly type: string;
  readonly socket: Socket;
  /** Bytes the client sent after the request head (the tunnel's first bytes). */
  readonly head: Buffer;
  /** The connection manager's codec settings (upgrade_configs). */
  readonly codec: CodecOptions;
  readonly handoff: InternalHandoff;
  /** Set once the tunnel is up (101 or 200 sent): the socket now carries raw bytes. */
  established: boolean;
}

const upgrades = new WeakMap<IncomingMessage, UpgradeRequest>();

export function setUpgrade(req: IncomingMessage, u: UpgradeRequest): void {
  upgrades.set(req, u);
}

/** The upgrade a request asks for, or undefined for an ordinary request. */
export function upgradeOf(req: IncomingMessage): UpgradeRequest | undefined {
  return upgrades.get(req);
}
