// The tcp_proxy network filter at run time: per connection, picks a cluster and a host, connects
// (retrying other hosts up to max_connect_attempts), then splices the two sockets. It does not
// wait for the client to speak first, so server-first protocols (SMTP, MySQL) work.
import type { Socket } from 'node:net';
import type { ProxyError } from '../../../errors.js';
import type {
  ConnectionInfo,
  InternalHandoff,
  NetworkFilter,
} from '../../../listeners/connection.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import type { Host } from '../../../upstream/host.js';
import type { TcpProxyConfig } from './config.js';
import { connectHost } from './connect.js';
import { TcpSession } from './session.js';
import { splice } from './splice.js';
import { emitTcpLog } from '../../../telemetry/access-log/http.js';

export interface TcpProxyDeps {
  readonly clusters: ClusterManager;
  readonly handoff: InternalHandoff;
  readonly log: (line: string) => void;
  /** Every finished session (access logs, tests). */
  readonly onSessionEnd?: (session: TcpSession) => void;
}

export class TcpProxyFilter implements NetworkFilter {
  constructor(
    readonly config: TcpProxyConfig,
    private readonly deps: TcpProxyDeps,
  ) {}

  onConnection(socket: Socket, conn: ConnectionInfo): void {
    const session = new TcpSession(conn.listenerName, this.config.statPrefix, conn.remoteAddress);
    session.connection = conn;
    // Nothing is read from the client until the upstream is there: the kernel buffers it.
    socket.pause();
    socket.on('error', () => undefined);
    void this.connect(socket, conn, session);
  }

  private end(socket: Socket, session: TcpSession): void {
    socket.destroy();
    session.endTime = performance.now();
    this.finished(session);
  }

  /** A session is over: its access log lines, then whoever else listens. */
  private readonly finished = (session: TcpSession): void => {
    if (this.config.accessLog) emitTcpLog(this.config.accessLog, session);
    this.deps.onSessionEnd?.(session);
  };

  private async connect(socket: Socket, conn: ConnectionInfo, session: TcpSession): Promise<void> {
    const name = this.config.pickCluster();
    session.clusterName = name;
    const cluster = this.deps.clusters.get(name);
    if (!cluster) {
      session.responseFlags.add('NC');
      this.end(socket, session);
      return;
    }
    // ORIGINAL_DST clusters take the destination from the tunnel's authority, if any.
    const authority = conn.tunnelAuthority ?? `${conn.localAddress}:${conn.localPort}`;
    const tried = new Set<Host>();
    let lastError: ProxyError | undefined;
    while (session.connectAttempts < this.config.maxConnectAttempts) {
      if (socket.destroyed) {
        session.responseFlags.add('DC');
        this.end(socket, session);
        return;
      }
      const host =
        cluster.chooseHost({ authority, exclude: tried }) ?? cluster.chooseHost({ authority });
      if (!host) {
        cluster.stats.upstream_cx_none_healthy++;
        if (!lastError) session.responseFlags.add('UH');
        break;
      }
      tried.add(host);
      session.connectAttempts++;
      session.upstreamHost = host;
      if (host.spec.internal) {
        const ok = this.deps.handoff(host.address, socket, {
          authority,
          port: conn.localPort,
          head: Buffer.alloc(0),
        });
        if (!ok) session.responseFlags.add('UF');
        if (!ok) this.end(socket, session);
        return;
      }
      try {
        // The host's transport socket: mTLS to sidecars (auto mTLS), else plain TCP.
        const upstream = await connectHost(
          host,
          cluster.config.connectTimeoutMs,
          cluster.config.tcpKeepalive,
        );
        splice(socket, upstream, session, {
          idleTimeoutMs: this.config.idleTimeoutMs,
          maxDurationMs: this.config.maxDownstreamConnectionDurationMs,
          onClose: this.finished,
        });
        return;
      } catch (e) {
        lastError = e as ProxyError;
        cluster.stats.upstream_cx_connect_fail++;
        host.errorsTotal++;
      }
    }
    if (lastError) session.responseFlags.add(lastError.flag);
    this.end(socket, session);
  }
}
