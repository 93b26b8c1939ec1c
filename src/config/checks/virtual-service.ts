// VirtualService meaning checks (istiod's ValidateVirtualService): hosts, gateways, and every
// http, tcp and tls route.
import type { VirtualServiceSpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { checkExportTo, checkLabels, checkPort } from './common.js';
import type { CheckContext } from './common.js';
import { checkWeightedDestinations } from './destinations.js';
import { checkGatewayNames, MESH_GATEWAY } from './gateway-names.js';
import { checkHttpRoute } from './http-route.js';
import { ipOrCidrProblem, isIpAddress, wildcardHostProblem } from './names.js';

/** Whether wildcard host `a` covers `b` (or the reverse): such hosts in one VirtualService clash. */
function hostsOverlap(a: string, b: string): boolean {
  const covers = (w: string, h: string): boolean =>
    w === '*' || (w.startsWith('*') && h.endsWith(w.slice(1)));
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || covers(x, y) || covers(y, x);
}

export function checkVirtualService(spec: VirtualServiceSpec, ctx: CheckContext): void {
  const { report } = ctx;
  const gateways = spec.gateways ?? [];
  // No gateways, or `mesh` among them: the routes apply to sidecars.
  const appliesToMesh = gateways.length === 0 || gateways.includes(MESH_GATEWAY);
  const hosts = spec.hosts ?? [];
  // Without hosts a VirtualService is a delegate: only root VirtualServices' routes use it, so
  // gateways, tcp and tls mean nothing there (istiod's delegate checks).
  const isDelegate = hosts.length === 0;
  if (isDelegate) {
    if (gateways.length)
      report.error(
        ['spec', 'gateways'],
        'a delegate VirtualService (no hosts) must have no gateways',
        'key',
      );
    if (spec.tcp?.length)
      report.error(
        ['spec', 'tcp'],
        'a delegate VirtualService (no hosts) must have no tcp routes',
        'key',
      );
    if (spec.tls?.length)
      report.error(
        ['spec', 'tls'],
        'a delegate VirtualService (no hosts) must have no tls routes',
        'key',
      );
    (spec.http ?? []).forEach((r, i) => {
      if (r.delegate)
        report.error(
          ['spec', 'http', i, 'delegate'],
          'a delegate route cannot delegate again',
          'key',
        );
    });
  }
  let hostsValid = true;
  hosts.forEach((h, i) => {
    if (isIpAddress(h)) return;
    const problem = wildcardHostProblem(h);
    if (problem) {
      report.error(['spec', 'hosts', i], problem);
      hostsValid = false;
    } else if (h === '*' && appliesToMesh) {
      report.error(
        ['spec', 'hosts', i],
        'host "*" is only allowed for VirtualServices bound to gateways (not mesh)',
      );
      hostsValid = false;
    }
  });
  if (hostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        const [a = '', b = ''] = [hosts[i], hosts[j]];
        if (hostsOverlap(a, b))
          report.error(['spec', 'hosts', j], `duplicate host: "${b}" overlaps "${a}"`);
      }
    }
  }
  checkGatewayNames(report, ['spec', 'gateways'], spec.gateways);

  const { http = [], tcp = [], tls = [] } = spec;
  if (http.length + tcp.length + tls.length === 0) {
    report.error(['spec'], 'at least one http, tcp or tls route is required', 'key');
  }
  http.forEach((r, i) =>
    checkHttpRoute(report, ['spec', 'http', i], r, { gatewayOnly: !appliesToMesh }),
  );
  tcp.forEach((r, i) => {
    const at = ['spec', 'tcp', i];
    (r.match ?? []).forEach((m, j) => checkL4Match(report, [...at, 'match', j], m));
    checkRouteRequired(report, at, r.route);
    checkWeightedDestinations(report, [...at, 'route'], r.route);
  });
  tls.forEach((r, i) => {
    const at = ['spec', 'tls', i];
    if ((r.match ?? []).length === 0)
      report.error([...at, 'match'], 'a tls route needs at least one match (with sniHosts)', 'key');
    (r.match ?? []).forEach((m, j) => {
      const mAt = [...at, 'match', j];
      checkL4Match(report, mAt, m);
      if ((m.sniHosts ?? []).length === 0)
        report.error([...mAt, 'sniHosts'], 'at least one SNI host is required', 'key');
      (m.sniHosts ?? []).forEach((sni, k) =>
        checkSniHost(report, [...mAt, 'sniHosts', k], sni, hosts),
      );
    });
    checkRouteRequired(report, at, r.route);
    checkWeightedDestinations(report, [...at, 'route'], r.route);
  });
  checkExportTo(ctx, ['spec', 'exportTo'], spec.exportTo);
}

function checkRouteRequired(
  report: Reporter,
  path: FieldPath,
  route: readonly unknown[] | undefined,
): void {
  if ((route ?? []).length === 0)
    report.error([...path, 'route'], 'at least one route destination is required', 'key');
}

interface L4Match {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
}

function checkL4Match(report: Reporter, path: FieldPath, m: L4Match): void {
  (m.destinationSubnets ?? []).forEach((s, i) => {
    const problem = ipOrCidrProblem(s);
    if (problem) report.error([...path, 'destinationSubnets', i], problem);
  });
  if (m.port !== undefined) checkPort(report, [...path, 'port'], m.port);
  checkLabels(report, [...path, 'sourceLabels'], m.sourceLabels);
  checkGatewayNames(report, [...path, 'gateways'], m.gateways);
}

/** An SNI host must be a host name, and within one of the VirtualService's hosts. */
function checkSniHost(
  report: Reporter,
  path: FieldPath,
  sni: string,
  hosts: readonly string[],
): void {
  if (isIpAddress(sni)) {
    report.warn(path, `SNI host "${sni}" is an IP address; most clients do not send IPs as SNI`);
    return;
  }
  const problem = wildcardHostProblem(sni);
  if (problem) {
    report.error(path, problem);
    return;
  }
  const within = hosts.some((h) => {
    const [x, y] = [sni.toLowerCase(), h.toLowerCase()];
    return x === y || y === '*' || (y.startsWith('*') && x.endsWith(y.slice(1)));
  });
  if (!within)
    report.error(
      path,
      `SNI host "${sni}" is not within the VirtualService's hosts (${hosts.join(', ')})`,
    );
}
