// Local mode's ports as a proxy's config sees them: a Sidecar's `ingress` listeners in place of
// the workload's inbound ports, and a router's own server-port → host-port map.
import type { InboundPort, ProxyNode } from '../../xds/node.js';
import type { SidecarScope } from '../model/sidecar-scope.js';

/**
 * The port of a Sidecar ingress `defaultEndpoint` (`127.0.0.1:8080`, `0.0.0.0:8080`,
 * `[::1]:8080`); undefined for a unix socket, which local mode's loopback clusters cannot reach.
 */
export function defaultEndpointPort(endpoint: string | undefined): number | undefined {
  if (!endpoint || endpoint.startsWith('unix://')) return undefined;
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * Istio builds a sidecar's inbound listeners from its Sidecar's `ingress` when there is one (and
 * from the workload's service ports otherwise): a workload port gets a listener only when an
 * ingress listener names it, and its traffic goes to that listener's `defaultEndpoint`. In local
 * mode every address is loopback and every listener is already where its port's traffic arrives
 * (captureMode has nothing to capture), so the listener keeps the workload port's local address.
 */
export function withSidecarIngress(node: ProxyNode, scope: SidecarScope | undefined): ProxyNode {
  if (!scope || scope.ingress.length === 0) return node;
  const inbound: InboundPort[] = [];
  for (const p of node.inbound) {
    const l = scope.ingress.find((i) => i.port === p.containerPort);
    if (!l) continue;
    inbound.push({ ...p, appPort: defaultEndpointPort(l.defaultEndpoint) ?? p.appPort });
  }
  return { ...node, inbound };
}

/**
 * Gateway server port → host port for one router: the ports it announced itself (the launcher
 * starts the egress gateway with its ports, as its Service's targetPorts), over the control
 * plane's own map.
 */
export function routerPortMap(
  node: ProxyNode,
  overrides: Readonly<Record<number, number>>,
): Readonly<Record<number, number>> {
  if (node.inbound.length === 0) return overrides;
  const own: Record<number, number> = { ...overrides };
  for (const p of node.inbound) own[p.containerPort] = p.listenPort;
  return own;
}
