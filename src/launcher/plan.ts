// What a mesh will run, from its config: one instance per Workload replica with its ports, the
// ingress gateway with its host ports, the control plane's ports. Pure but for port allocation.
import path from 'node:path';
import type { ConfigResource } from '../config/resource.js';
import type { InboundPort } from '../xds/node.js';
import { planEgress } from './egress.js';
import { gatewayServerPorts, hostPortFor, INGRESS } from './gateway.js';
import type { PortAllocator } from './ports.js';
import { scrapePlan } from './scrape.js';

/** The fields of skiff's Workload spec the launcher reads (validated by src/config). */
export interface WorkloadSpec {
  readonly serviceAccount?: string;
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly replicas?: number;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
}

export interface InstancePlan {
  /** `<workload>-<replica>`, as a Deployment's pods are named (without the hash). */
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly ports: readonly InboundPort[];
  readonly outboundPort: number;
  readonly adminPort: number;
  /** The sidecar's merged metrics endpoint (Istio's 15020). */
  readonly statusPort: number;
  /** False when the Workload opted out of scraping (`prometheus.io/scrape: "false"`). */
  readonly scrape: boolean;
  /** The app's metrics, merged into the status port's (`prometheus.io/*` annotations). */
  readonly appMetricsUrl?: string;
  readonly command: readonly string[];
  /** The folder of the manifest that declared the Workload: commands run from there. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface GatewayPlan {
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly adminPort: number;
  /** The merged metrics endpoint (Istio's 15020). */
  readonly statusPort: number;
  readonly ports: readonly { readonly port: number; readonly hostPort: number }[];
}

export interface MeshPlan {
  readonly grpcPort: number;
  /** ADS and CA over TLS (Istio's 15012). */
  readonly grpcTlsPort: number;
  readonly httpPort: number;
  readonly instances: readonly InstancePlan[];
  readonly gateway: GatewayPlan;
  /** Istio's egress gateway, when a Gateway selects `istio: egressgateway`. */
  readonly egress?: GatewayPlan;
  /** Proxies get certificates from the control plane's CA and xDS over TLS (skiff up sets it). */
  readonly security?: SecurityPlan;
}

export interface SecurityPlan {
  /** The trust bundle the control plane writes (`<state>/ca/istio-ca-root-cert.pem`). */
  readonly rootCertFile: string;
  /** Where each proxy's bootstrap token goes: `<tokensDir>/<name>.jwt`, 0600. */
  readonly tokensDir: string;
  readonly trustDomain: string;
}

export interface PlanOptions {
  readonly ports: PortAllocator;
  /** Host port of the first Gateway server port; 0 picks a free one. */
  readonly ingressPort?: number;
  /** What relative `source.file` paths are relative to (the launcher's cwd). */
  readonly baseDir: string;
}

export async function planMesh(
  resources: readonly ConfigResource[],
  opts: PlanOptions,
): Promise<MeshPlan> {
  const { ports } = opts;
  // The gateway's host ports first: a fixed port that is taken (another mesh on 8080) is the
  // likeliest failure, and should stop us before anything else is claimed.
  const gatewayPorts: { port: number; hostPort: number }[] = [];
  for (const [i, port] of gatewayServerPorts(resources, INGRESS.labels).entries()) {
    const wanted = i === 0 && opts.ingressPort !== undefined ? opts.ingressPort : hostPortFor(port);
    const hostPort =
      wanted === 0
        ? await ports.allocate()
        : await ports.reserve(wanted, `host port of the ingress gateway's port ${port}`);
    gatewayPorts.push({ port, hostPort });
  }
  const egress = await planEgress(resources, ports);
  const grpcPort = await ports.allocate();
  const grpcTlsPort = await ports.allocate();
  const httpPort = await ports.allocate();
  const instances: InstancePlan[] = [];
  for (const r of resources) {
    if (r.kind !== 'Workload') continue;
    const spec = r.spec as WorkloadSpec;
    const replicas = spec.replicas ?? 1;
    for (let i = 0; i < replicas; i++) {
      const inbound: InboundPort[] = [];
      for (const p of spec.ports ?? []) {
        inbound.push({
          containerPort: p.containerPort,
          name: p.name ?? '',
          appPort: await ports.allocate(),
          listenPort: await ports.allocate(),
        });
      }
      const scrape = scrapePlan(
        `${r.metadata.namespace}/${r.metadata.name}`,
        r.metadata.annotations ?? {},
        inbound,
      );
      instances.push({
        name: `${r.metadata.name}-${i}`,
        namespace: r.metadata.namespace,
        workloadName: r.metadata.name,
        labels: { ...r.metadata.labels },
        serviceAccount: spec.serviceAccount ?? 'default',
        ports: inbound,
        outboundPort: await ports.allocate(),
        adminPort: await ports.allocate(),
        statusPort: await ports.allocate(),
        ...scrape,
        command: [...spec.command],
        cwd: path.dirname(path.resolve(opts.baseDir, r.source.file)),
        env: { ...spec.env },
      });
    }
  }
  return {
    grpcPort,
    grpcTlsPort,
    httpPort,
    instances,
    gateway: {
      ...INGRESS,
      adminPort: await ports.allocate(),
      statusPort: await ports.allocate(),
      ports: gatewayPorts,
    },
    ...(egress ? { egress } : {}),
  };
}
