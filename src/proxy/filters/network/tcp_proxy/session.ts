// One proxied TCP connection (tcp_proxy, or an HTTP CONNECT tunnel): where it went and how it
// ended, with Envoy's response flags, for access logs and metrics (the TCP side of HttpStream).
import type { ResponseFlag } from '../../../errors.js';
import type { Host } from '../../../upstream/host.js';
import type { ConnectionInfo } from '../../../listeners/connection.js';

export class TcpSession {
  readonly startTime = performance.now();
  readonly startDate = new Date();
  clusterName = '';
  upstreamHost: Host | undefined;
  readonly responseFlags = new Set<ResponseFlag>();
  /** Envoy's connection termination details: `idle_timeout`, `max_duration_timeout`, ... */
  terminationDetails = '';
  connectAttempts = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** performance.now() when both sides were closed. */
  endTime = 0;
  /** The downstream connection's addresses and SNI (access logs). */
  connection: ConnectionInfo | undefined;

  constructor(
    readonly listenerName: string,
    readonly statPrefix: string,
    readonly remoteAddress: string,
  ) {}

  durationMs(): number {
    return (this.endTime || performance.now()) - this.startTime;
  }
}
