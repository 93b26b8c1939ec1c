// Plain-text tables as kubectl and istioctl print them (columns padded, three spaces apart),
// and the summary `skiff up` prints once the mesh is up.
import path from 'node:path';
import type { MeshRecord } from './mesh-record.js';

/** Left-aligned columns; the last one is not padded, so lines carry no trailing spaces. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return i === headers.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3);
      })
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** The table of instances, then where to go: gateway URLs, control plane, the record. */
export function renderMeshSummary(record: MeshRecord, meshFile: string, cwd: string): string {
  const rows = record.instances.map((i) => [
    i.workloadName,
    i.name,
    i.namespace,
    i.ports.map((p) => String(p.appPort)).join(',') || '-',
    i.ports.map((p) => String(p.listenPort)).join(',') || '-',
    String(i.outboundPort),
    String(i.adminPort),
  ]);
  for (const gw of [record.gateway, ...(record.egressGateway ? [record.egressGateway] : [])]) {
    rows.push([
      gw.name.replace(/-\d+$/, ''),
      gw.name,
      gw.namespace,
      '-',
      gw.ports.map((p) => String(p.hostPort)).join(',') || '-',
      '-',
      String(gw.adminPort),
    ]);
  }
  const table = renderTable(
    ['WORKLOAD', 'INSTANCE', 'NAMESPACE', 'APP', 'SIDECAR', 'OUTBOUND', 'ADMIN'],
    rows,
  );
  const rel = (p: string): string => {
    const r = path.relative(cwd, p);
    return r && !r.startsWith('..') ? r : p;
  };
  const lines = [table, ''];
  if (record.gateway.urls.length) {
    lines.push('Ingress gateway:');
    for (const url of record.gateway.urls) lines.push(`  ${url}`);
  } else {
    lines.push('Ingress gateway: no Gateway resources select it');
  }
  lines.push(
    `Control plane: xDS ${record.controlPlane.grpcAddress}` +
      (record.controlPlane.grpcTlsAddress
        ? `, xDS+CA over TLS ${record.controlPlane.grpcTlsAddress}`
        : '') +
      `, HTTP ${record.controlPlane.httpAddress}`,
    `Prometheus: curl -s http://${record.controlPlane.httpAddress}/prometheus/config > prometheus.yml`,
    `Logs: ${rel(path.join(record.stateDir, 'logs'))}${path.sep}`,
    `Mesh: ${rel(meshFile)}`,
  );
  return lines.join('\n');
}
