// The egress gateway in local mode, as Istio's demo profile installs it: a router proxy
// `istio-egressgateway` in istio-system labelled `istio: egressgateway`, and its Service, so
// that a VirtualService can send mesh traffic to it. It runs when a Gateway selects it; its
// server ports are served on free host ports (mesh traffic reaches them through its Service).
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ConfigResource } from '../config/resource.js';
import type { WorkloadInstance } from '../control-plane/registry/instances.js';
import type { InboundPort } from '../xds/node.js';
import { gatewayServerPorts } from './gateway.js';
import type { GatewayPlan } from './plan.js';
import type { PortAllocator } from './ports.js';

export const EGRESS = {
  name: 'istio-egressgateway-0',
  namespace: 'istio-system',
  workloadName: 'istio-egressgateway',
  serviceAccount: 'istio-egressgateway-service-account',
  serviceName: 'istio-egressgateway',
  labels: { istio: 'egressgateway', app: 'istio-egressgateway' } as Readonly<
    Record<string, string>
  >,
} as const;

/** The egress gateway's plan: one free host port per server port; none when no Gateway selects it. */
export async function planEgress(
  resources: readonly ConfigResource[],
  ports: PortAllocator,
): Promise<GatewayPlan | undefined> {
  const serverPorts = gatewayServerPorts(resources, EGRESS.labels);
  if (serverPorts.length === 0) return undefined;
  const mapped: { port: number; hostPort: number }[] = [];
  for (const port of serverPorts) mapped.push({ port, hostPort: await ports.allocate() });
  const { serviceName: _, ...identity } = EGRESS;
  return {
    ...identity,
    adminPort: await ports.allocate(),
    statusPort: await ports.allocate(),
    ports: mapped,
  };
}

interface ServerInfo {
  readonly port?: { readonly number?: number; readonly protocol?: string };
}

/** The protocol a Gateway declares for a server port (first one wins), for the Service's port name. */
function protocolOf(resources: readonly ConfigResource[], port: number): string {
  for (const r of resources) {
    if (r.kind !== 'Gateway') continue;
    const servers = (r.spec as { servers?: ServerInfo[] }).servers ?? [];
    const s = servers.find((x) => x.port?.number === port);
    if (s) return (s.port?.protocol ?? 'HTTP').toLowerCase();
  }
  return 'http';
}

/** The egress gateway's ports as its proxy announces them: server port → its host port. */
export function egressInbound(
  plan: GatewayPlan,
  resources: readonly ConfigResource[],
): InboundPort[] {
  return plan.ports.map((p) => ({
    containerPort: p.port,
    name: `${protocolOf(resources, p.port)}-${p.port}`,
    listenPort: p.hostPort,
    appPort: p.hostPort,
  }));
}

/** Its entry in the instances file: the endpoint of its Service, once its proxy is ready. */
export function egressInstance(
  plan: GatewayPlan,
  resources: readonly ConfigResource[],
  ready: boolean,
): WorkloadInstance {
  return {
    name: plan.name,
    namespace: plan.namespace,
    workloadName: plan.workloadName,
    labels: plan.labels,
    serviceAccount: plan.serviceAccount,
    address: '127.0.0.1',
    ports: egressInbound(plan, resources),
    ready,
  };
}

function hasOwnService(resources: readonly ConfigResource[]): boolean {
  return resources.some(
    (r) =>
      r.kind === 'Service' &&
      r.metadata.name === EGRESS.serviceName &&
      r.metadata.namespace === EGRESS.namespace,
  );
}

/**
 * Writes the egress gateway's Service (what Istio's install adds) to `dir`, unless the config
 * declares its own; returns the file for the control plane to read, or undefined.
 */
export function writeEgressService(
  dir: string,
  plan: GatewayPlan,
  resources: readonly ConfigResource[],
): string | undefined {
  if (hasOwnService(resources)) return undefined;
  const ports = egressInbound(plan, resources)
    .map(
      (p) => `    - { name: ${p.name}, port: ${p.containerPort}, targetPort: ${p.containerPort} }`,
    )
    .join('\n');
  const text = [
    '# Written by skiff up: the egress gateway Service that Istio installs with the gateway.',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${EGRESS.serviceName}`,
    `  namespace: ${EGRESS.namespace}`,
    `  labels: { istio: egressgateway, app: istio-egressgateway }`,
    'spec:',
    '  selector: { istio: egressgateway }',
    '  ports:',
    ports,
    '',
  ].join('\n');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'istio-egressgateway.yaml');
  writeFileSync(file, text);
  return file;
}
