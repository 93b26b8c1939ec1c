// The proxy's admin HTTP endpoint (Envoy's :15000): readiness, config dump, clusters, stats,
// and Prometheus text at /stats/prometheus (Istio scrapes it on 15090; in local mode it is
// served here, on the admin port).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { ListenerManager } from '../listeners/listener-manager.js';
import type { XdsClient } from '../xds-client/xds-client.js';
import type { ConfigManager } from '../config-manager.js';
import { configDump } from './config-dump.js';
import { clusterStatLines, clustersJson, clustersText } from './clusters.js';
import type { ProxyMetrics } from '../telemetry/metrics/proxy-metrics.js';
import { renderEnvoyStats } from '../telemetry/metrics/envoy-stats.js';
import { xdsStatLines, xdsStatScopes } from './xds-stats.js';

export interface AdminDeps {
  readonly config: ConfigManager;
  readonly clusters: ClusterManager;
  readonly listeners: ListenerManager;
  readonly xds: XdsClient;
  readonly nodeId: string;
  /** Istio's standard metrics; without them /stats/prometheus has Envoy's stats only. */
  readonly metrics?: ProxyMetrics;
  /** GET /certs: the certificates in use (Envoy's admin.v3.Certificates JSON). */
  readonly certs?: () => unknown;
  /** POST /quitquitquit: asks the proxy to exit. */
  quit(): void;
}

function statsText(deps: AdminDeps): string {
  const lines: string[] = [];
  for (const c of deps.clusters.all()) lines.push(...clusterStatLines(c));
  for (const l of deps.listeners.listeners())
    for (const [k, v] of l.stats.entries())
      lines.push(`listener.${l.address}_${l.port}.${k}: ${v}`);
  for (const l of deps.listeners.listeners())
    for (const [k, v] of l.stats.filterCounters) lines.push(`http.${k}: ${v}`);
  lines.push(...xdsStatLines(xdsScopes(deps)));
  const xds = deps.xds.status();
  lines.push(`control_plane.connected_state: ${xds.connected ? 1 : 0}`);
  return lines.sort().join('\n') + '\n';
}

function xdsScopes(deps: AdminDeps) {
  return xdsStatScopes(deps.xds.updates, deps.clusters, deps.listeners);
}

function prometheusText(deps: AdminDeps): string {
  const connected = deps.xds.status().connected;
  const listeners = deps.listeners.listeners();
  const xds = xdsScopes(deps);
  if (deps.metrics) return deps.metrics.render(deps.clusters, listeners, connected, xds);
  const out: string[] = [];
  renderEnvoyStats(deps.clusters.all(), listeners, connected, out, xds);
  return out.join('\n') + '\n';
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly deps: AdminDeps) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    switch (path) {
      case '/ready':
      case '/healthz/ready':
        return this.deps.config.ready() ? send(200, 'LIVE\n') : send(503, 'PRE_INITIALIZING\n');
      case '/config_dump':
        return send(
          200,
          JSON.stringify(
            configDump((t) => this.deps.config.acceptedResources(t)),
            null,
            2,
          ),
          'application/json',
        );
      case '/clusters':
        return /[?&]format=json/.test(req.url ?? '')
          ? send(200, JSON.stringify(clustersJson(this.deps.clusters), null, 2), 'application/json')
          : send(200, clustersText(this.deps.clusters));
      case '/stats':
        return send(200, statsText(this.deps));
      case '/stats/prometheus':
        return send(200, prometheusText(this.deps), 'text/plain; version=0.0.4; charset=utf-8');
      case '/listeners':
        return send(
          200,
          this.deps.listeners
            .listeners()
            .map((l) => `${l.name}::${l.address}:${l.port}`)
            .join('\n') + '\n',
        );
      case '/server_info':
        return send(
          200,
          JSON.stringify({ node: this.deps.nodeId, xds: this.deps.xds.status() }, null, 2),
          'application/json',
        );
      case '/certs':
        return send(
          200,
          JSON.stringify(this.deps.certs?.() ?? { certificates: [] }, null, 2),
          'application/json',
        );
      case '/quitquitquit':
        if (req.method !== 'POST') return send(405, 'use POST\n');
        send(200, 'OK\n');
        return this.deps.quit();
      default:
        return send(404, 'not found\n');
    }
  }

  listen(port: number, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`${a.address}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
