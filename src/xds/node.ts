// The identity a proxy announces in every ADS stream's first request (Envoy's `Node`), in
// Istio's form: id `type~ip~podName.namespace~namespace.svc.cluster.local`, metadata keys as
// pilot-agent sends them, plus skiff's local-mode listener addresses.

export type ProxyType = 'sidecar' | 'router';

export interface InboundPort {
  /** The workload's declared containerPort (what Services' targetPort refers to). */
  readonly containerPort: number;
  /** containerPort's name, if any. */
  readonly name: string;
  /** Where the sidecar accepts mesh traffic for this port: the workload's endpoint. */
  readonly listenPort: number;
  /** Where the app itself listens (127.0.0.1). */
  readonly appPort: number;
}

export interface ProxyNode {
  readonly id: string;
  readonly type: ProxyType;
  /** Pod-like instance name, e.g. `reviews-v2-0`. */
  readonly name: string;
  readonly namespace: string;
  readonly workloadName: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The address the proxy's listeners bind (loopback in local mode). */
  readonly ip: string;
  /** Local mode: the HTTP proxy listener the app reaches through HTTP_PROXY (sidecars only). */
  readonly outboundPort?: number;
  /** Local mode: one inbound listener per container port (sidecars only). */
  readonly inbound: readonly InboundPort[];
  readonly istioVersion: string;
  /** `region/zone/subzone` (Envoy's Node.locality); from the labels when not given. */
  readonly locality?: string;
}

export interface EnvoyNode {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  user_agent_name?: string;
  user_agent_version?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
}

/**
 * A workload's locality from its labels, as Istio reads pods': `istio-locality`
 * (`region.zone.subzone`), else topology.kubernetes.io/region and /zone and
 * topology.istio.io/subzone. '' when there is none.
 */
export function localityFromLabels(labels: Readonly<Record<string, string>>): string {
  const explicit = labels['istio-locality'];
  if (explicit) return explicit.split('.').join('/');
  const region = labels['topology.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? '';
  const subzone = labels['topology.istio.io/subzone'] ?? '';
  return [region, zone, subzone].join('/').replace(/\/+$/, '');
}

export const SKIFF_VERSION = '0.1.0';

export function nodeId(n: {
  type: ProxyType;
  ip: string;
  name: string;
  namespace: string;
}): string {
  return `${n.type}~${n.ip}~${n.name}.${n.namespace}~${n.namespace}.svc.cluster.local`;
}

/** The Envoy Node a proxy sends (metadata is a Struct; keys follow Istio's pilot-agent). */
export function toEnvoyNode(n: ProxyNode): EnvoyNode {
  const metadata: Record<string, unknown> = {
    NAME: n.name,
    NAMESPACE: n.namespace,
    WORKLOAD_NAME: n.workloadName,
    SERVICE_ACCOUNT: n.serviceAccount,
    LABELS: { ...n.labels },
    INSTANCE_IPS: n.ip,
    ISTIO_VERSION: n.istioVersion,
    SKIFF_INBOUND: n.inbound.map((p) => ({ ...p })),
  };
  if (n.outboundPort !== undefined) metadata['SKIFF_OUTBOUND_PORT'] = n.outboundPort;
  const [region = '', zone = '', subZone = ''] = (n.locality ?? localityFromLabels(n.labels)).split(
    '/',
  );
  return {
    id: n.id,
    cluster: n.labels['app'] ? `${n.labels['app']}.${n.namespace}` : n.workloadName,
    metadata,
    user_agent_name: 'skiff',
    user_agent_version: SKIFF_VERSION,
    ...(region ? { locality: { region, zone, sub_zone: subZone } } : {}),
  };
}

export class NodeError extends Error {
  readonly code = 'ERR_BAD_NODE';
}

function str(meta: Record<string, unknown>, key: string, fallback?: string): string {
  const v = meta[key];
  if (typeof v === 'string' && v) return v;
  if (fallback !== undefined) return fallback;
  throw new NodeError(`node metadata ${key} is missing`);
}

/** Reads a proxy's identity back from the Node of its first request; throws NodeError. */
export function fromEnvoyNode(node: EnvoyNode | undefined): ProxyNode {
  if (!node?.id) throw new NodeError('the first request carries no node id');
  const parts = node.id.split('~');
  if (parts.length !== 4 || (parts[0] !== 'sidecar' && parts[0] !== 'router')) {
    throw new NodeError(`node id ${JSON.stringify(node.id)} is not type~ip~name.namespace~domain`);
  }
  const meta = node.metadata ?? {};
  const [podName = '', podNamespace = ''] = splitOnce(parts[2] ?? '', '.');
  const namespace = str(meta, 'NAMESPACE', podNamespace);
  const labels = (meta['LABELS'] ?? {}) as Record<string, string>;
  const inbound = Array.isArray(meta['SKIFF_INBOUND'])
    ? (meta['SKIFF_INBOUND'] as InboundPort[])
    : [];
  const outbound = meta['SKIFF_OUTBOUND_PORT'];
  return {
    id: node.id,
    type: parts[0],
    ip: parts[1] ?? '127.0.0.1',
    name: str(meta, 'NAME', podName),
    namespace,
    workloadName: str(meta, 'WORKLOAD_NAME', podName),
    serviceAccount: str(meta, 'SERVICE_ACCOUNT', 'default'),
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
    ...(typeof outbound === 'number' ? { outboundPort: outbound } : {}),
    inbound: inbound.map((p) => ({
      containerPort: Number(p.containerPort),
      name: String(p.name ?? ''),
      listenPort: Number(p.listenPort),
      appPort: Number(p.appPort),
    })),
    istioVersion: str(meta, 'ISTIO_VERSION', ''),
    ...localityOf(node, labels),
  };
}

/** The proxy's locality: the Node's own, else its labels' (omitted when it has none). */
function localityOf(node: EnvoyNode, labels: Record<string, string>): { locality?: string } {
  const l = node.locality?.region
    ? [node.locality.region, node.locality.zone ?? '', node.locality.sub_zone ?? '']
        .join('/')
        .replace(/\/+$/, '')
    : localityFromLabels(labels);
  return l ? { locality: l } : {};
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}
