// `skiff proxy`: runs one proxy (a workload's sidecar or a gateway's router) in this process.
import path from 'node:path';
import type { ProxyOptions } from '../proxy/options.js';
import type { InboundPort, ProxyNode, ProxyType } from '../xds/node.js';
import { nodeId, SKIFF_VERSION } from '../xds/node.js';
import { parseHostPort, parseLabels, parsePort } from './flags.js';
import { UsageError, type CliIO } from './io.js';
import { serveUntilStopped } from './lifecycle.js';

export interface ProxyFlags {
  type: string;
  name: string;
  namespace: string;
  workload: string;
  serviceAccount: string;
  labels?: string;
  xds: string;
  adminPort: string;
  statusPort?: string;
  appMetrics?: string;
  outboundPort?: string;
  inbound: string[];
  readyFile?: string;
  ip: string;
  exitWithParent?: boolean;
  identityDir?: string;
  caRootCert?: string;
  caAddress?: string;
  tokenFile?: string;
  trustDomain?: string;
}

/** `CONTAINERPORT:NAME:LISTENPORT:APPPORT`; NAME may be empty (`9080::21001:21002`). */
export function parseInbound(value: string): InboundPort {
  const parts = value.split(':');
  if (parts.length !== 4) {
    throw new UsageError(
      `--inbound: ${JSON.stringify(value)} is not CONTAINERPORT:NAME:LISTENPORT:APPPORT`,
    );
  }
  const [containerPort = '', name = '', listenPort = '', appPort = ''] = parts;
  return {
    containerPort: parsePort(containerPort, '--inbound', false),
    name,
    listenPort: parsePort(listenPort, '--inbound', false),
    appPort: parsePort(appPort, '--inbound', false),
  };
}

/** `--app-metrics`: an http URL (the app's metrics, merged into the status port's). */
function appMetricsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--app-metrics: ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--app-metrics: ${value} is not http://`);
  return url.href;
}

export function proxyOptions(flags: ProxyFlags): ProxyOptions {
  if (flags.type !== 'sidecar' && flags.type !== 'router') {
    throw new UsageError(`--type: ${JSON.stringify(flags.type)} is not sidecar or router`);
  }
  const type: ProxyType = flags.type;
  const outbound = flags.outboundPort
    ? parsePort(flags.outboundPort, '--outbound-port')
    : undefined;
  const node: ProxyNode = {
    id: nodeId({ type, ip: flags.ip, name: flags.name, namespace: flags.namespace }),
    type,
    name: flags.name,
    namespace: flags.namespace,
    workloadName: flags.workload,
    serviceAccount: flags.serviceAccount,
    labels: parseLabels(flags.labels),
    ip: flags.ip,
    ...(outbound !== undefined ? { outboundPort: outbound } : {}),
    inbound: flags.inbound.map(parseInbound),
    istioVersion: SKIFF_VERSION,
  };
  return {
    node,
    xdsAddress: parseHostPort(flags.xds, '--xds'),
    adminPort: parsePort(flags.adminPort, '--admin-port'),
    adminBind: flags.ip,
    ...(flags.statusPort ? { statusPort: parsePort(flags.statusPort, '--status-port') } : {}),
    ...(flags.appMetrics ? { appMetricsUrl: appMetricsUrl(flags.appMetrics) } : {}),
    ...(flags.readyFile ? { readyFile: path.resolve(flags.readyFile) } : {}),
    ...(flags.identityDir ? { identityDir: path.resolve(flags.identityDir) } : {}),
    ...caOptions(flags),
  };
}

/** --ca-root-cert turns on the CA agent and TLS xDS; the token comes from a file or SKIFF_TOKEN. */
function caOptions(flags: ProxyFlags): Pick<ProxyOptions, 'ca'> {
  if (!flags.caRootCert) {
    if (flags.tokenFile || flags.caAddress) {
      throw new UsageError('--token-file and --ca-address need --ca-root-cert');
    }
    return {};
  }
  const token = process.env['SKIFF_TOKEN'];
  return {
    ca: {
      rootCertFile: path.resolve(flags.caRootCert),
      ...(flags.caAddress ? { address: parseHostPort(flags.caAddress, '--ca-address') } : {}),
      ...(flags.tokenFile ? { tokenFile: path.resolve(flags.tokenFile) } : token ? { token } : {}),
      trustDomain: flags.trustDomain ?? 'cluster.local',
    },
  };
}

export async function proxy(flags: ProxyFlags, io: CliIO): Promise<number> {
  const opts = proxyOptions(flags);
  const { startProxy } = await import('../proxy/main.js');
  const running = await startProxy(opts);
  return serveUntilStopped(() => running.close(), {
    exitWithParent: flags.exitWithParent === true,
    io,
    name: `proxy ${opts.node.name}`,
    until: { promise: running.quitRequested, why: 'admin /quitquitquit' },
  });
}
