// CDS: one outbound cluster per service port, one more per DestinationRule subset, the inbound
// clusters of a sidecar's own ports, and Istio's BlackHoleCluster and PassthroughCluster.
import type { DestinationRuleSpec } from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService, ServicePort } from '../model/service.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, clusterName } from './names.js';
import { toProtoDuration } from './durations.js';
import { endpointsFor } from './endpoints.js';

type EnvoyObject = Record<string, unknown>;
type TrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>;

const UINT32_MAX = 4294967295;

/** Istio sets every circuit-breaker threshold to the maximum unless a DestinationRule says otherwise. */
function circuitBreakers(policy: TrafficPolicy | undefined): EnvoyObject {
  const tcp = policy?.connectionPool?.tcp;
  const http = policy?.connectionPool?.http;
  return {
    thresholds: [
      {
        max_connections: tcp?.maxConnections ?? UINT32_MAX,
        max_pending_requests: http?.http1MaxPendingRequests ?? UINT32_MAX,
        max_requests: http?.http2MaxRequests ?? UINT32_MAX,
        max_retries: http?.maxRetries ?? UINT32_MAX,
        track_remaining: true,
      },
    ],
  };
}

const LB_POLICY: Readonly<Record<string, string>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  LEAST_CONN: 'LEAST_REQUEST',
  RANDOM: 'RANDOM',
  UNSPECIFIED: 'ROUND_ROBIN',
};

/** What a port-level policy sets; where one applies it replaces these wholesale. */
const PORT_LEVEL_FIELDS = ['connectionPool', 'loadBalancer', 'outlierDetection', 'tls'] as const;

/**
 * Istio's GetPortLevelTrafficPolicy: settings for the port replace the policy's port-level
 * fields wholesale ("default values will be applied to fields omitted in port-level traffic
 * policies"); otherwise the policy stands as it is.
 */
function atPort(
  policy: TrafficPolicy | undefined,
  port: number,
): { policy: TrafficPolicy | undefined; portLevel: boolean } {
  if (!policy) return { policy, portLevel: false };
  const { portLevelSettings, ...rest } = policy;
  const settings = portLevelSettings?.find((p) => p.port?.number === port);
  if (!settings) return { policy: rest, portLevel: false };
  const out: Record<string, unknown> = {};
  for (const k of PORT_LEVEL_FIELDS) if (settings[k] !== undefined) out[k] = settings[k];
  return { policy: out as TrafficPolicy, portLevel: true };
}

/**
 * Istio's MergeSubsetTrafficPolicy: the rule's policy at this port, overridden field by field by
 * the subset's policy at this port (wholesale when the subset has settings for the port).
 */
function mergedPolicy(
  dr: DestinationRuleSpec | undefined,
  subset: string,
  port: number,
): TrafficPolicy | undefined {
  const base = atPort(dr?.trafficPolicy, port).policy;
  // The subset's generated type has the rule's shape but is distinct and huge: proving that
  // structurally costs the compiler half a minute, so assert it.
  const subsetPolicy = subset
    ? dr?.subsets?.find((s) => s.name === subset)?.trafficPolicy
    : undefined;
  const sub = atPort(subsetPolicy as unknown as TrafficPolicy | undefined, port);
  const merged: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(sub.policy ?? {})) if (v !== undefined) merged[k] = v;
  if (sub.portLevel)
    for (const k of PORT_LEVEL_FIELDS) if (sub.policy?.[k] === undefined) delete merged[k];
  return Object.keys(merged).length ? (merged as TrafficPolicy) : undefined;
}

function serviceMetadata(svc: MeshService, port: ServicePort, subset: string): EnvoyObject {
  const istio: EnvoyObject = {
    services: [{ host: svc.hostname, name: svc.name, namespace: svc.namespace }],
    default_original_port: port.port,
  };
  if (subset) istio['subset'] = subset;
  return { filter_metadata: { istio } };
}

interface ClusterSpec {
  readonly svc: MeshService;
  readonly port: ServicePort;
  readonly subset: string;
  /** The subset's labels; undefined for the whole service. */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
  readonly policy: TrafficPolicy | undefined;
}

function outboundCluster(
  { svc, port, subset, subsetLabels, policy }: ClusterSpec,
  model: MeshModel,
): NamedResource {
  const name = clusterName('outbound', port.port, subset, svc.hostname);
  const cluster: EnvoyObject = {
    name,
    connect_timeout: toProtoDuration(
      policy?.connectionPool?.tcp?.connectTimeout ?? model.meshConfig.connectTimeout,
    ),
    lb_policy: LB_POLICY[policy?.loadBalancer?.simple ?? 'ROUND_ROBIN'] ?? 'ROUND_ROBIN',
    circuit_breakers: circuitBreakers(policy),
    common_lb_config: {},
    metadata: serviceMetadata(svc, port, subset),
  };
  const perConnection = policy?.connectionPool?.http?.maxRequestsPerConnection;
  if (perConnection) cluster['max_requests_per_connection'] = perConnection;
  switch (svc.resolution) {
    case 'STATIC':
      cluster['type'] = 'EDS';
      cluster['eds_cluster_config'] = {
        service_name: name,
        eds_config: { ads: {}, resource_api_version: 'V3' },
      };
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      cluster['type'] = svc.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
      cluster['dns_lookup_family'] = 'V4_ONLY';
      cluster['load_assignment'] = endpointsFor(model, svc, port.port, subsetLabels, name);
      break;
    case 'NONE':
      cluster['type'] = 'ORIGINAL_DST';
      cluster['lb_policy'] = 'CLUSTER_PROVIDED';
      break;
  }
  return { name, resource: cluster };
}

function staticCluster(name: string, address: string, port: number): NamedResource {
  return {
    name,
    resource: {
      name,
      type: 'STATIC',
      connect_timeout: '10s',
      lb_policy: 'ROUND_ROBIN',
      circuit_breakers: circuitBreakers(undefined),
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address, port_value: port } } } },
            ],
          },
        ],
      },
    },
  };
}

export function buildClusters(node: ProxyNode, model: MeshModel): NamedResource[] {
  const out: NamedResource[] = [];
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    const dr = model.destinationRuleFor(svc.hostname, node.namespace)?.spec;
    for (const port of svc.ports) {
      const policy = mergedPolicy(dr, '', port.port);
      out.push(outboundCluster({ svc, port, subset: '', subsetLabels: undefined, policy }, model));
      for (const s of dr?.subsets ?? []) {
        const subsetPolicy = mergedPolicy(dr, s.name, port.port);
        out.push(
          outboundCluster(
            { svc, port, subset: s.name, subsetLabels: s.labels ?? {}, policy: subsetPolicy },
            model,
          ),
        );
      }
    }
  }
  for (const p of node.inbound) {
    out.push(
      staticCluster(clusterName('inbound', p.containerPort, '', ''), '127.0.0.1', p.appPort),
    );
  }
  out.push({
    name: BLACKHOLE_CLUSTER,
    resource: { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: '10s' },
  });
  out.push({
    name: PASSTHROUGH_CLUSTER,
    resource: {
      name: PASSTHROUGH_CLUSTER,
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
      connect_timeout: model.meshConfig.connectTimeout,
      circuit_breakers: circuitBreakers(undefined),
      // In local mode the original destination is the request's authority (HTTP proxy form).
      original_dst_lb_config: { use_http_header: true, http_header_name: ':authority' },
    },
  });
  return out;
}
