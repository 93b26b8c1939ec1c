// Starts a proxy: the admin server, the xDS client, and the managers that turn what the control
// plane sends into listeners, routes and clusters. Keeps serving its last good config while the
// control plane is away.
import { writeFile, rename } from 'node:fs/promises';
import { toEnvoyNode } from '../xds/node.js';
import { AdminServer } from './admin/admin-server.js';
import { MergedMetricsServer } from './admin/merged-metrics.js';
import { ConfigManager } from './config-manager.js';
import { ListenerManager } from './listeners/listener-manager.js';
import { ProxyMetrics } from './telemetry/metrics/proxy-metrics.js';
import type { ProxyOptions } from './options.js';
import { RouteStore } from './routes/route-store.js';
import { ClusterManager } from './upstream/cluster-manager.js';
import { closeAccessLogWriters } from './telemetry/access-log/writer.js';
import { XdsClient } from './xds-client/xds-client.js';
import { installIdentity, installedIdentity, readIdentityDir } from './identity/files.js';
import { CONTROL_PLANE_CHANNEL_OPTIONS, IdentityAgent } from './identity/agent.js';
import { certsReport } from './identity/certs.js';
import { proxySecrets } from './tls/secret-store.js';

export interface RunningProxy {
  readonly adminAddress: string;
  /** Resolves when the proxy was asked to quit (admin /quitquitquit). */
  readonly quitRequested: Promise<void>;
  /** Whether the first config is in (listeners, clusters and what they name). */
  ready(): boolean;
  close(): Promise<void>;
}

/** How long open connections may finish their requests at shutdown. */
const DRAIN_MS = 5000;

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const log =
    opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  if (opts.identityDir) installIdentity(proxySecrets, readIdentityDir(opts.identityDir));
  // The CA's certificate first: the proxy's first config may already need it (mTLS).
  const agent = opts.ca
    ? new IdentityAgent({
        caAddress: opts.ca.address ?? opts.xdsAddress,
        rootCertFile: opts.ca.rootCertFile,
        ...(opts.ca.tokenFile ? { tokenFile: opts.ca.tokenFile } : {}),
        ...(opts.ca.token ? { token: opts.ca.token } : {}),
        trustDomain: opts.ca.trustDomain,
        namespace: opts.node.namespace,
        serviceAccount: opts.node.serviceAccount,
        store: proxySecrets,
        log,
      })
    : undefined;
  await agent?.start();
  const clusters = new ClusterManager();
  const routes = new RouteStore();
  const envoyNode = toEnvoyNode(opts.node);
  const localNode = { id: envoyNode.id, cluster: envoyNode.cluster };
  const metrics = new ProxyMetrics(opts.node.id, opts.node);
  const listeners = new ListenerManager({ routes, clusters, log, localNode, metrics });
  // The two refer to each other: updates flow in through the client, subscriptions flow back.
  const config: ConfigManager = new ConfigManager({
    clusters,
    listeners,
    routes,
    subscribe: (typeUrl, names) => xds.subscribe(typeUrl, names),
  });
  const xds: XdsClient = new XdsClient({
    address: opts.xdsAddress,
    node: toEnvoyNode(opts.node),
    ...(agent
      ? {
          credentials: () => agent.credentials(),
          channelOptions: CONTROL_PLANE_CHANNEL_OPTIONS,
        }
      : {}),
    onResources: (typeUrl, resources, version) => config.onResources(typeUrl, resources, version),
    log,
  });
  let quit: () => void = () => undefined;
  const quitRequested = new Promise<void>((resolve) => {
    quit = resolve;
  });
  const admin = new AdminServer({
    config,
    clusters,
    listeners,
    xds,
    nodeId: opts.node.id,
    metrics,
    certs: () => certsReport(installedIdentity(proxySecrets)),
    quit: () => quit(),
  });
  const adminAddress = await admin.listen(opts.adminPort, opts.adminBind);
  const merged =
    opts.statusPort === undefined
      ? undefined
      : new MergedMetricsServer({
          proxyUrl: `http://${adminAddress}/stats/prometheus`,
          readyUrl: `http://${adminAddress}/ready`,
          ...(opts.appMetricsUrl ? { appUrl: opts.appMetricsUrl } : {}),
          log,
        });
  await merged?.listen(opts.statusPort ?? 0, opts.adminBind);
  xds.start();
  if (opts.readyFile) {
    const tmp = `${opts.readyFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ pid: process.pid, adminAddress }));
    await rename(tmp, opts.readyFile);
  }
  log(
    `proxy ${opts.node.id}: admin on ${adminAddress}, xDS from ${opts.xdsAddress}${agent ? ' (TLS)' : ''}`,
  );
  let closed: Promise<void> | undefined;
  return {
    adminAddress,
    quitRequested,
    ready: () => config.ready(),
    close: () => {
      closed ??= (async () => {
        xds.stop();
        agent?.stop();
        await listeners.close(DRAIN_MS);
        await clusters.close();
        await admin.close();
        await merged?.close();
        await closeAccessLogWriters(); // what is still buffered reaches the file
      })();
      return closed;
    },
  };
}
