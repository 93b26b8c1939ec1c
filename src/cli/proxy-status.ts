// `skiff proxy-status`: every connected proxy's xDS sync state per type, as istioctl prints it:
// SYNCED (the last version sent was ACKed), NOT SENT, STALE (sent, not yet ACKed), NACK.
import type { ProxyStatus, TypeStatus } from '../control-plane/server/ads-server.js';
import { renderTable } from '../launcher/table.js';
import { TypeUrl } from '../xds/types.js';
import type { CliIO } from './io.js';
import { ControlPlaneClient, currentMesh, refusal, type MeshFlags } from './mesh-client.js';

const COLUMNS: readonly [string, string][] = [
  ['CDS', TypeUrl.Cluster],
  ['LDS', TypeUrl.Listener],
  ['EDS', TypeUrl.ClusterLoadAssignment],
  ['RDS', TypeUrl.RouteConfiguration],
];

export type SyncState = 'SYNCED' | 'NOT SENT' | 'STALE' | 'NACK';

/**
 * Istio's proxy-status compares what the control plane sent with what the proxy acknowledged
 * (xDS protocol: an ACK carries the version it accepts, a NACK keeps the previous one).
 */
export function syncState(t: TypeStatus | undefined): SyncState {
  if (!t || !t.sentNonce) return 'NOT SENT';
  if (t.ackedVersion === t.sentVersion) return 'SYNCED';
  // The server does not resend a rejected version, so a NACK of the version sent last stands.
  if (t.nack && t.nack.version === t.sentVersion) return 'NACK';
  return 'STALE';
}

function proxyName(s: ProxyStatus): string {
  if (s.node?.name) return `${s.node.name}.${s.node.namespace}`;
  return s.id.split('~')[2] ?? s.id; // Istio's id: type~ip~name.namespace~domain
}

export function renderProxyStatus(statuses: readonly ProxyStatus[]): string {
  const sorted = [...statuses].sort((a, b) => proxyName(a).localeCompare(proxyName(b)));
  const rows = sorted.map((s) => [
    proxyName(s),
    ...COLUMNS.map(([, url]) => syncState(s.types[url])),
    s.node?.istioVersion ?? '',
  ]);
  const lines = [renderTable(['NAME', ...COLUMNS.map(([n]) => n), 'VERSION'], rows)];
  for (const s of sorted) {
    for (const [short, url] of COLUMNS) {
      const t = s.types[url];
      if (t && syncState(t) === 'NACK') {
        lines.push(
          `${proxyName(s)} ${short} NACK of version ${t.nack?.version}: ${t.nack?.message}`,
        );
      }
    }
  }
  return lines.join('\n');
}

export async function proxyStatus(flags: MeshFlags, io: CliIO): Promise<number> {
  const cp = ControlPlaneClient.of(currentMesh(flags));
  const reply = await cp.request('GET', '/debug/syncz');
  if (reply.status !== 200) throw refusal(reply, 'proxy-status');
  const statuses = reply.body as ProxyStatus[];
  if (statuses.length === 0) {
    io.error('No proxies are connected to the control plane.');
    return 0;
  }
  io.log(renderProxyStatus(statuses));
  return 0;
}
